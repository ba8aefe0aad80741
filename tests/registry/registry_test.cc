// The key registry and the authorisation matrix: one test per reason code, plus the happy path.
#include "govcredit/registry.h"

#include <gtest/gtest.h>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "support/support.h"

namespace govcredit {
namespace {

using testing::resigned;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_ = demo::every_type();
    // Apply everything up to (not including) the first record.submitted.
    for (const auto& e : world_.events) {
      if (e.as<RecordSubmitted>()) break;
      ASSERT_TRUE(reg_.check(e)) << e.type_name();
      reg_.apply(e);
    }
  }
  const Event& first(std::string_view type) {
    for (const auto& e : world_.events)
      if (e.type_name() == type) return e;
    throw std::runtime_error("missing type");
  }
  Reason check(const Event& e) { return reg_.check(e).reason(); }

  demo::World world_;
  Registry reg_;
};

TEST_F(RegistryTest, WholeEveryTypeHistoryIsAccepted) {
  Registry r;
  for (const auto& e : world_.events) {
    Status s = r.check(e);
    ASSERT_TRUE(s) << e.type_name() << ": " << s.to_string();
    r.apply(e);
  }
  EXPECT_TRUE(r.has_authority());
  EXPECT_TRUE(r.agency(AgencyId("sh.city.housing")));
  EXPECT_TRUE(r.key(demo::key_for(PrincipalId("src.audit")).key_id())->revoked_at.has_value());
}

TEST(RegistryGenesis, OnlySelfSignedAuthorityRegistrationOpensAShard) {
  demo::World w = demo::every_type();
  Registry r;
  EXPECT_EQ(r.check(w.events[1]).reason(), Reason::kGenesisRequired);  // agency.registered first
  Event g = w.events[0];
  // Signed by someone else's key: the genesis must be signed by the key it registers.
  sign_event(g, demo::key_for(PrincipalId("src.audit")));
  EXPECT_EQ(r.check(g).reason(), Reason::kKeyIdMismatch);
  // Registers a source rather than an authority.
  Event s = w.events[0];
  auto& p = std::get<PrincipalRegistered>(s.payload);
  p.role = Role::kSource;
  p.source_kind = SourceKind::kAudit;
  EXPECT_EQ(r.check(resigned(s)).reason(), Reason::kGenesisRequired);
  // Tampered after signing.
  Event t = w.events[0];
  std::get<PrincipalRegistered>(t.payload).display_name = "冒名者";
  EXPECT_EQ(r.check(t).reason(), Reason::kSignatureInvalid);
  EXPECT_TRUE(r.check(w.events[0]));
}

TEST_F(RegistryTest, KeyAndSignatureFailures) {
  Event e = first("record.submitted");
  Event unknown_issuer = e;
  unknown_issuer.issuer = PrincipalId("src.nobody");
  EXPECT_EQ(check(unknown_issuer), Reason::kPrincipalUnknown);

  Event unknown_key = e;
  sign_event(unknown_key, *PrivateKey::generate());
  EXPECT_EQ(check(unknown_key), Reason::kKeyUnknown);

  Event other_key = e;  // the complaint channel's key, claimed by src.audit
  sign_event(other_key, demo::key_for(demo::kComplaintChannel));
  EXPECT_EQ(check(other_key), Reason::kKeyPrincipalMismatch);

  Event early = e;  // before valid_from of the registered keys
  early.issued_at = *parse_time("2000-01-01T00:00:00Z");
  EXPECT_EQ(check(resigned(early)), Reason::kKeyNotYetValid);

  Event forged = e;
  std::get<RecordSubmitted>(forged.payload).title = "伪造";
  EXPECT_EQ(check(forged), Reason::kSignatureInvalid);
  EXPECT_TRUE(reg_.check(e));
}

TEST_F(RegistryTest, RevokedKeySignsNothingFromRevocationOn) {
  Event revoke = first("key.revoked");
  ASSERT_TRUE(reg_.check(revoke));
  reg_.apply(revoke);
  const auto& when = std::get<KeyRevoked>(revoke.payload).revoked_at;
  Event e = first("record.submitted");
  e.issued_at = when;
  EXPECT_EQ(check(resigned(e, 0)), Reason::kKeyRevoked);
  e.issued_at.ms = when.ms - 1;  // just before: still valid
  EXPECT_TRUE(reg_.check(resigned(e, 0)));
  e.issued_at = when;
  EXPECT_TRUE(reg_.check(resigned(e, 1)));        // the rotated key carries on
  EXPECT_EQ(check(revoke), Reason::kKeyRevoked);  // revoking twice
}

TEST_F(RegistryTest, PrincipalsMayRevokeTheirOwnKeysButNotOthers) {
  KeyRevoked kr{PrincipalId("src.audit"), demo::key_for(PrincipalId("src.audit")).key_id(),
                *parse_time("2013-09-01T00:00:00Z"), "key compromised"};
  Event self = first("key.revoked");
  self.issuer = PrincipalId("src.audit");
  self.payload = kr;
  EXPECT_TRUE(reg_.check(resigned(self)));
  Event other = self;
  other.issuer = demo::kComplaintChannel;
  EXPECT_EQ(check(resigned(other)), Reason::kRoleNotAllowed);
}

TEST_F(RegistryTest, RoleMatrix) {
  // A source may not verify; the authority may not submit; an agency may not file complaints.
  Event verify = first("record.verified");
  verify.issuer = PrincipalId("src.audit");
  EXPECT_EQ(check(resigned(verify)), Reason::kRoleNotAllowed);
  Event submit = first("record.submitted");
  submit.issuer = demo::kAuthority;
  EXPECT_EQ(check(resigned(submit)), Reason::kRoleNotAllowed);
  Event complaint = first("complaint.filed");
  complaint.issuer = PrincipalId("ag.sh.city.housing");
  EXPECT_EQ(check(resigned(complaint)), Reason::kRoleNotAllowed);
  Event reg_agency = first("agency.registered");
  reg_agency.issuer = PrincipalId("src.audit");
  EXPECT_EQ(check(resigned(reg_agency)), Reason::kRoleNotAllowed);
}

TEST_F(RegistryTest, SubjectRules) {
  // An agency objects only about itself.
  Event obj = first("objection.raised");
  obj.subject = AgencyId("sh.city.finance");
  EXPECT_EQ(check(resigned(obj)), Reason::kSubjectMismatch);
  // A report is about _system; a record is never about _system.
  Event rep = first("report.published");
  rep.subject = AgencyId("sh.city.housing");
  EXPECT_EQ(check(resigned(rep)), Reason::kSubjectMismatch);
  Event rec = first("record.submitted");
  rec.subject = system_subject();
  EXPECT_EQ(check(resigned(rec)), Reason::kSubjectMismatch);
  // A source principal's registration is about _system, and so is the genesis.
  Event src = world_.events[2];
  ASSERT_EQ(std::get<PrincipalRegistered>(src.payload).role, Role::kSource);
  src.subject = AgencyId("sh.city.housing");
  EXPECT_EQ(check(resigned(src)), Reason::kSubjectMismatch);
  Event genesis = first("principal.registered");
  genesis.subject = AgencyId("sh.city.housing");
  Registry fresh;
  EXPECT_EQ(fresh.check(resigned(genesis)).reason(), Reason::kSubjectMismatch);
}

TEST_F(RegistryTest, ConsistencyFailures) {
  Event rec = first("record.submitted");
  rec.subject = AgencyId("sh.city.nowhere");
  EXPECT_EQ(check(resigned(rec)), Reason::kAgencyUnknown);
  EXPECT_EQ(check(first("agency.registered")), Reason::kAgencyExists);
  Event again = world_.events[2];  // src.audit's registration
  ASSERT_TRUE(again.as<PrincipalRegistered>());
  EXPECT_EQ(check(again), Reason::kPrincipalExists);
  Event dup_key = again;
  auto& p = std::get<PrincipalRegistered>(dup_key.payload);
  p.principal = PrincipalId("src.audit2");  // new principal, but an existing key
  EXPECT_EQ(check(resigned(dup_key)), Reason::kKeyExists);
  Event parent = first("agency.registered");
  parent.subject = AgencyId("sh.city.newbureau");
  std::get<AgencyRegistered>(parent.payload).parent = AgencyId("sh.city.ghost");
  EXPECT_EQ(check(resigned(parent)), Reason::kAgencyUnknown);
  // A key of small order (the neutral point) would verify forged signatures: not a key.
  Event weak = again;
  auto& w = std::get<PrincipalRegistered>(weak.payload);
  w.principal = PrincipalId("src.audit3");
  w.public_key = PublicKeyBytes{};
  w.public_key.bytes[0] = 1;
  EXPECT_EQ(check(resigned(weak)), Reason::kFieldInvalid);
  Event key_for_ghost = first("key.authorised");
  std::get<KeyAuthorised>(key_for_ghost.payload).principal = PrincipalId("ghost");
  EXPECT_EQ(check(resigned(key_for_ghost)), Reason::kPrincipalUnknown);
}

}  // namespace
}  // namespace govcredit
