// JSON views of the projections, shared by the CLI and the HTTP API: the shapes users see.
// A complaint's view never carries contact details (they are sealed; see privacy.h).
#pragma once

#include <nlohmann/json.hpp>

#include "govcredit/projections.h"
#include "govcredit/scoring.h"

namespace govcredit {

nlohmann::json line_json(const Line& l);
nlohmann::json score_json(const Score& s);
// Counts, overdue recommendations as of as_of, compensation, and the score.
nlohmann::json agency_status_json(const AgencyState& a, const Score& s, Timestamp as_of);
nlohmann::json record_json(const EventId& id, const RecordState& r);
nlohmann::json complaint_json(const EventId& id, const ComplaintState& c);
nlohmann::json recommendation_json(const EventId& id, const RecommendationState& r,
                                   Timestamp as_of);

// One agency's place in a ranking or a roll-up.
struct Scored {
  AgencyState agency;
  Score score;
};
// Best first (score descending, then agency id): the annual evaluation ranking.
std::vector<Scored> ranked(std::vector<Scored> agencies);
// Totals per district (district-level agencies) and for the whole city.
nlohmann::json rollup_json(const std::vector<Scored>& agencies, Timestamp as_of);

}  // namespace govcredit
