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
// record_json plus what the log says: the record as submitted ("original"), every correction
// with the fields it changed, and the record as it now reads ("current": the original with the
// corrections applied in order). The original is never altered; both are shown.
Result<nlohmann::json> record_view(const Ledger& ledger, const EventId& id);
nlohmann::json complaint_json(const EventId& id, const ComplaintState& c);
nlohmann::json recommendation_json(const EventId& id, const RecommendationState& r,
                                   Timestamp as_of);
// The JSON views plus the texts kept in the log: a complaint's summary (never its sealed
// contact), a recommendation's reference and required actions.
Result<nlohmann::json> complaint_view(const Ledger& ledger, const EventId& id);
Result<nlohmann::json> recommendation_view(const Ledger& ledger, const EventId& id,
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
