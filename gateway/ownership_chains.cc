#include "gateway/ownership_chains.h"

#include <deque>
#include <map>

#include "gateway/entity_statement.h"
#include "mapping/identifier.h"
#include "proto/statement.pb.h"

namespace cg::gateway {

StatusOr<std::vector<OwnershipChain>> ExplainOwnership(Store& store, std::string_view entity_id,
                                                       std::string_view entity_jurisdiction,
                                                       std::string_view period,
                                                       const mapping::PenetrationParams& params,
                                                       size_t max_nodes) {
  struct Node {
    std::string jurisdiction;
    bool person = false;
  };
  std::map<std::string, Node, std::less<>> nodes;
  std::vector<mapping::OwnershipRecord> holdings;
  nodes[std::string(entity_id)] = {std::string(entity_jurisdiction), false};
  std::deque<std::string> queue{std::string(entity_id)};
  const std::string as_of_max = std::string(period) + "-31";
  // Companies whose holders come from an entity statement, by the stating node.
  std::map<std::string, std::string, std::less<>> stated_by;
  auto add_holding = [&](const mapping::OwnershipRecord& r) -> Status {
    holdings.push_back(r);
    auto [it, fresh] =
        nodes.try_emplace(r.holder_id, Node{r.holder_jurisdiction, r.holder_is_person});
    if (fresh && !r.holder_is_person) queue.push_back(r.holder_id);
    if (nodes.size() > max_nodes) {
      return ResourceExhaustedError("more than " + std::to_string(max_nodes) +
                                    " companies and persons above " + std::string(entity_id));
    }
    return OkStatus();
  };
  while (!queue.empty()) {
    const std::string owned = std::move(queue.front());
    queue.pop_front();
    const size_t before = holdings.size();
    CG_RETURN_IF_ERROR(store.ScanHoldersOf(owned, as_of_max, add_holding));
    if (holdings.size() > before || owned == entity_id) continue;
    // No holders in the feed: the owners an entity statement gives, as the batch
    // evaluation uses them (gateway/entity_statement.h).
    auto row = store.GetEntityStatement(owned);
    if (row.status().code() == StatusCode::kNotFound) continue;
    if (!row.ok()) return row.status();
    cg::v1::EntityStatement statement;
    if (!StatementAppliesTo(*row, period) || !statement.ParseFromString(row->statement) ||
        statement.subject().id() != owned || !ValidateEntityStatement(statement).ok()) {
      continue;
    }
    stated_by[owned] = statement.issuer().node_id();
    for (const auto& owner : statement.owners()) {
      mapping::OwnershipRecord r;
      r.holder_id = owner.holder_id();
      r.owned_id = owned;
      r.holder_is_person = owner.natural_person();
      r.holder_jurisdiction = owner.natural_person() ? "" : owner.jurisdiction();
      r.share = owner.integrated_share();
      r.voting = owner.integrated_share();
      CG_RETURN_IF_ERROR(add_holding(r));
    }
  }

  mapping::EquityGraphBuilder builder(mapping::OverSubscribedHolders::kNormalise);
  std::map<std::string_view, mapping::NodeIndex> index;
  for (const auto& [id, node] : nodes) {
    const std::string_view jurisdiction = node.jurisdiction.empty()
                                              ? mapping::JurisdictionOfEntityId(id)
                                              : std::string_view(node.jurisdiction);
    index[id] = builder.AddNode(
        id, node.person ? mapping::NodeKind::kNaturalPerson : mapping::NodeKind::kEntity,
        jurisdiction, false);
  }
  for (const auto& h : holdings) {
    CG_RETURN_IF_ERROR(
        builder.AddHolding(index.at(h.holder_id), index.at(h.owned_id), h.share, h.voting));
  }
  CG_ASSIGN_OR_RETURN(mapping::EquityGraph graph, std::move(builder).Build());
  CG_ASSIGN_OR_RETURN(mapping::EquityPenetrator penetrator,
                      mapping::EquityPenetrator::Create(graph, params));
  CG_ASSIGN_OR_RETURN(std::vector<mapping::Chain> chains, penetrator.Explain(index.at(entity_id)));
  std::vector<OwnershipChain> out;
  for (const auto& chain : chains) {
    OwnershipChain c;
    c.product = chain.product;
    c.crosses_border = chain.crosses_border;
    for (size_t i = 0; i < chain.nodes.size(); ++i) {
      ChainLink link{std::string(graph.id(chain.nodes[i])),
                     std::string(graph.jurisdiction(chain.nodes[i])),
                     i == 0 ? 0.0 : chain.shares[i - 1],
                     {}};
      if (i > 0) {
        auto stated = stated_by.find(graph.id(chain.nodes[i - 1]));
        if (stated != stated_by.end()) {
          link.via_statement = stated->second;
          c.via_statement = true;
        }
      }
      c.links.push_back(std::move(link));
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace cg::gateway
