// The ownership chains behind one entity, for `explain`: walks up the entity's
// holders in the store (both sides' ownership), builds that part of the equity
// graph, penetrates it and returns the strongest chains to each beneficial owner.
// A company with no holders in the feed but a stored entity statement that applies
// to the period gets the statement's owners, as in the batch evaluation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/store.h"
#include "mapping/equity_graph.h"
#include "specs/status.h"

namespace cg::gateway {

struct ChainLink {
  std::string id;
  std::string jurisdiction;
  double share_of_next = 0;  // what this node holds of the one before it (0 for the entity)
  // The node whose entity statement says this holding (the one before it has no
  // holders in the feed); empty for a holding from the ownership feed.
  std::string via_statement;
};

struct OwnershipChain {
  std::vector<ChainLink> links;  // links.front() is the entity, links.back() the owner
  double product = 1;
  bool crosses_border = false;
  bool via_statement = false;  // some link comes from an entity statement
};

// The companies and persons above `entity_id` (as of the end of `period`), at most
// `max_nodes` of them (kResourceExhausted beyond: an explanation so large is not one).
StatusOr<std::vector<OwnershipChain>> ExplainOwnership(Store& store, std::string_view entity_id,
                                                       std::string_view entity_jurisdiction,
                                                       std::string_view period,
                                                       const mapping::PenetrationParams& params,
                                                       size_t max_nodes = 100'000);

}  // namespace cg::gateway
