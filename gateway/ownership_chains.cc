#include "gateway/ownership_chains.h"

#include <deque>
#include <map>

#include "mapping/identifier.h"

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
  while (!queue.empty()) {
    const std::string owned = std::move(queue.front());
    queue.pop_front();
    CG_RETURN_IF_ERROR(
        store.ScanHoldersOf(owned, as_of_max, [&](const mapping::OwnershipRecord& r) {
          holdings.push_back(r);
          auto [it, fresh] =
              nodes.try_emplace(r.holder_id, Node{r.holder_jurisdiction, r.holder_is_person});
          if (fresh && !r.holder_is_person) queue.push_back(r.holder_id);
          if (nodes.size() > max_nodes) {
            return ResourceExhaustedError("more than " + std::to_string(max_nodes) +
                                          " companies and persons above " + std::string(entity_id));
          }
          return OkStatus();
        }));
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
      c.links.push_back({std::string(graph.id(chain.nodes[i])),
                         std::string(graph.jurisdiction(chain.nodes[i])),
                         i == 0 ? 0.0 : chain.shares[i - 1]});
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace cg::gateway
