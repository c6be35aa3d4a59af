// KmsService: JSON members in, JSON out, errors through the KMS rows of the
// error table, over a real KeyDirectory, Keyring and MemoryBackend.
#include "api/awsjson/kms_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "api/awsjson/errors.h"
#include "auth/authorizer.h"
#include "support/json_api_fixture.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

class KmsServiceTest : public testing::JsonApiTest {
 protected:
  void SetUp() override {
    JsonApiTest::SetUp();
    service_ = std::make_unique<KmsService>(*domain_.keys, *domain_.keyring);
    caller_.principal.arn = "arn:aws:iam::000000000000:user/admin";
  }

  Result<json> Call(std::string_view op, const json& body) {
    return CallService(*service_, op, body, caller_);
  }

  json Ok(std::string_view op, const json& body) {
    auto r = Call(op, body);
    EXPECT_TRUE(r.has_value()) << op << ": " << (r.has_value() ? "" : r.error().message);
    return r.value_or(json::object());
  }

  // The wire error code the call's failure maps to ("" on success).
  std::string WireCode(std::string_view op, const json& body, int* status = nullptr) {
    auto r = Call(op, body);
    if (r.has_value()) return "";
    WireError w = MapError("kms", r.error());
    if (status != nullptr) *status = w.status;
    EXPECT_FALSE(w.capital_message);
    return std::string(w.code);
  }

  std::string NewKey(std::string description = "k") {
    json out = Ok("CreateKey", {{"Description", description}});
    return out["KeyMetadata"]["KeyId"].get<std::string>();
  }

  static std::string B64(std::string_view s) { return util::Base64Encode(s); }

  util::SimulatedClock& clock_ = domain_.clock;
  std::unique_ptr<KmsService> service_;
  auth::Authenticated caller_;
};

// CreateKey returns the full KeyMetadata shape of a fresh symmetric key.
TEST_F(KmsServiceTest, CreateKeyReturnsKeyMetadata) {
  json out = Ok("CreateKey", {{"Description", "orders"},
                              {"KeyUsage", "ENCRYPT_DECRYPT"},
                              {"KeySpec", "SYMMETRIC_DEFAULT"},
                              {"Tags", json::array({{{"TagKey", "team"}, {"TagValue", "pay"}}})}});
  const json& m = out["KeyMetadata"];
  EXPECT_EQ(m["AWSAccountId"], "000000000000");
  EXPECT_EQ(m["Arn"], "arn:aws:kms:us-east-1:000000000000:key/" + m["KeyId"].get<std::string>());
  EXPECT_EQ(m["Enabled"], true);
  EXPECT_EQ(m["KeyState"], "Enabled");
  EXPECT_EQ(m["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_EQ(m["KeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(m["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(m["EncryptionAlgorithms"], json::array({"SYMMETRIC_DEFAULT"}));
  EXPECT_EQ(m["KeyManager"], "CUSTOMER");
  EXPECT_EQ(m["Origin"], "AWS_KMS");
  EXPECT_EQ(m["MultiRegion"], false);
  EXPECT_EQ(m["Description"], "orders");
  EXPECT_DOUBLE_EQ(m["CreationDate"].get<double>(), 1'800'000'000.0);
  EXPECT_FALSE(m.contains("DeletionDate"));
}

// CreateKey refuses asymmetric specs (UnsupportedOperation) and unknown enums (Validation).
TEST_F(KmsServiceTest, CreateKeyErrors) {
  EXPECT_EQ(WireCode("CreateKey", {{"KeySpec", "RSA_2048"}}), "UnsupportedOperationException");
  EXPECT_EQ(WireCode("CreateKey", {{"KeyUsage", "SIGN_VERIFY"}}), "UnsupportedOperationException");
  EXPECT_EQ(WireCode("CreateKey", {{"KeySpec", "AES"}}), "ValidationException");
  EXPECT_EQ(WireCode("CreateKey", {{"Description", std::string(8193, 'x')}}),
            "ValidationException");
  EXPECT_EQ(WireCode("CreateKey", {{"Description", 5}}), "SerializationException");
}

// DescribeKey of alias/aws/ssm reports an AWS-managed key.
TEST_F(KmsServiceTest, DescribeManagedAlias) {
  json m = Ok("DescribeKey", {{"KeyId", "alias/aws/ssm"}})["KeyMetadata"];
  EXPECT_EQ(m["KeyManager"], "AWS");
  EXPECT_EQ(WireCode("DescribeKey", {{"KeyId", "alias/missing"}}), "NotFoundException");
  EXPECT_EQ(WireCode("DescribeKey", {{"KeyId", "arn:aws:iam::000000000000:user/x"}}),
            "InvalidArnException");
  EXPECT_EQ(WireCode("DescribeKey", json::object()), "ValidationException");
}

// Encrypt/Decrypt round trip with base64 blobs and key ARNs in responses.
TEST_F(KmsServiceTest, EncryptDecryptRoundTrip) {
  std::string id = NewKey();
  json enc = Ok("Encrypt", {{"KeyId", id},
                            {"Plaintext", B64("hello")},
                            {"EncryptionContext", {{"app", "a"}, {"env", "prod"}}}});
  std::string arn = "arn:aws:kms:us-east-1:000000000000:key/" + id;
  EXPECT_EQ(enc["KeyId"], arn);
  EXPECT_EQ(enc["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  json dec = Ok("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                            {"EncryptionContext", {{"env", "prod"}, {"app", "a"}}}});
  EXPECT_EQ(dec["KeyId"], arn);
  EXPECT_TRUE(dec["Plaintext"] == B64("hello"));
  // Other context, no context: InvalidCiphertext.
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                                 {"EncryptionContext", {{"app", "b"}, {"env", "prod"}}}}),
            "InvalidCiphertextException");
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}}),
            "InvalidCiphertextException");
}

// A ciphertext from one key is refused when Decrypt names another (IncorrectKey).
TEST_F(KmsServiceTest, DecryptUnderOtherKeyFailsWithIncorrectKey) {
  std::string a = NewKey();
  std::string b = NewKey();
  json enc = Ok("Encrypt", {{"KeyId", a}, {"Plaintext", B64("x")}});
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"KeyId", b}}),
            "IncorrectKeyException");
  Ok("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"KeyId", a}});
}

// Tampered and garbage ciphertexts are InvalidCiphertext; bad base64 is SerializationException.
TEST_F(KmsServiceTest, TamperedCiphertextFailsWithInvalidCiphertext) {
  std::string id = NewKey();
  json enc = Ok("Encrypt", {{"KeyId", id}, {"Plaintext", B64("x")}});
  std::string blob = *util::Base64Decode(enc["CiphertextBlob"].get<std::string>());
  blob[blob.size() - 3] = static_cast<char>(blob[blob.size() - 3] ^ 0x40);
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", B64(blob)}}), "InvalidCiphertextException");
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", B64("garbage")}}),
            "InvalidCiphertextException");
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", "!!"}}), "SerializationException");
}

// Plaintext size limits are validated without echoing the value.
TEST_F(KmsServiceTest, EncryptPlaintextLimits) {
  std::string id = NewKey();
  auto r = Call("Encrypt", {{"KeyId", id}, {"Plaintext", B64(std::string(4097, 'q'))}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(MapError("kms", r.error()).code, "ValidationException");
  EXPECT_EQ(r.error().message.find("qqqq"), std::string::npos);
  EXPECT_EQ(WireCode("Encrypt", {{"KeyId", id}, {"Plaintext", ""}}), "ValidationException");
  EXPECT_EQ(WireCode("Encrypt", {{"KeyId", id},
                                 {"Plaintext", B64("x")},
                                 {"EncryptionAlgorithm", "RSAES_OAEP_SHA_256"}}),
            "InvalidKeyUsageException");
}

// Disabled keys give DisabledException; pending deletion gives KMSInvalidStateException.
TEST_F(KmsServiceTest, KeyStateErrors) {
  std::string id = NewKey();
  json enc = Ok("Encrypt", {{"KeyId", id}, {"Plaintext", B64("x")}});
  Ok("DisableKey", {{"KeyId", id}});
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"]["Enabled"], false);
  EXPECT_EQ(WireCode("Encrypt", {{"KeyId", id}, {"Plaintext", B64("x")}}), "DisabledException");
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}}), "DisabledException");
  json sched = Ok("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  EXPECT_EQ(sched["KeyState"], "PendingDeletion");
  EXPECT_EQ(sched["PendingWindowInDays"], 7);
  EXPECT_DOUBLE_EQ(sched["DeletionDate"].get<double>(), 1'800'000'000.0 + 7 * 86400);
  json m = Ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"];
  EXPECT_EQ(m["KeyState"], "PendingDeletion");
  EXPECT_EQ(m["PendingDeletionWindowInDays"], 7);
  EXPECT_TRUE(m.contains("DeletionDate"));
  EXPECT_EQ(WireCode("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}}),
            "KMSInvalidStateException");
  EXPECT_EQ(WireCode("EnableKey", {{"KeyId", id}}), "KMSInvalidStateException");
  EXPECT_EQ(WireCode("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 6}}),
            "ValidationException");
  json cancel = Ok("CancelKeyDeletion", {{"KeyId", id}});
  EXPECT_EQ(cancel["KeyId"], "arn:aws:kms:us-east-1:000000000000:key/" + id);
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"]["KeyState"], "Disabled");
  Ok("EnableKey", {{"KeyId", id}});
  Ok("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}});
}

// Rotation: status fields, on-demand rotation, old ciphertexts still decrypt.
TEST_F(KmsServiceTest, RotationKeepsOldCiphertexts) {
  std::string id = NewKey();
  EXPECT_EQ(Ok("GetKeyRotationStatus", {{"KeyId", id}})["KeyRotationEnabled"], false);
  Ok("EnableKeyRotation", {{"KeyId", id}});
  json status = Ok("GetKeyRotationStatus", {{"KeyId", id}});
  EXPECT_EQ(status["KeyRotationEnabled"], true);
  EXPECT_EQ(status["RotationPeriodInDays"], 365);
  EXPECT_DOUBLE_EQ(status["NextRotationDate"].get<double>(), 1'800'000'000.0 + 365 * 86400);
  json old_enc = Ok("Encrypt", {{"KeyId", id}, {"Plaintext", B64("old")}});
  json rotated = Ok("RotateKeyOnDemand", {{"KeyId", id}});
  EXPECT_EQ(rotated["KeyId"], id);
  json new_enc = Ok("Encrypt", {{"KeyId", id}, {"Plaintext", B64("new")}});
  EXPECT_NE(old_enc["CiphertextBlob"], new_enc["CiphertextBlob"]);
  EXPECT_TRUE(Ok("Decrypt", {{"CiphertextBlob", old_enc["CiphertextBlob"]}})["Plaintext"] ==
              B64("old"));
  EXPECT_TRUE(Ok("Decrypt", {{"CiphertextBlob", new_enc["CiphertextBlob"]}})["Plaintext"] ==
              B64("new"));
  EXPECT_EQ(WireCode("EnableKeyRotation", {{"KeyId", id}, {"RotationPeriodInDays", 10}}),
            "ValidationException");
  Ok("DisableKeyRotation", {{"KeyId", id}});
  EXPECT_EQ(Ok("GetKeyRotationStatus", {{"KeyId", id}})["KeyRotationEnabled"], false);
}

// Alias lifecycle and rules through the wire.
TEST_F(KmsServiceTest, AliasOperations) {
  std::string a = NewKey();
  std::string b = NewKey();
  EXPECT_TRUE(Ok("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", a}}).empty());
  EXPECT_EQ(WireCode("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", a}}),
            "AlreadyExistsException");
  EXPECT_EQ(WireCode("CreateAlias", {{"AliasName", "alias/aws/x"}, {"TargetKeyId", a}}),
            "InvalidAliasNameException");
  EXPECT_EQ(WireCode("CreateAlias", {{"AliasName", "app"}, {"TargetKeyId", a}}),
            "InvalidAliasNameException");
  EXPECT_EQ(WireCode("CreateAlias", {{"AliasName", "alias/x"}, {"TargetKeyId", "alias/app"}}),
            "NotFoundException");
  json enc = Ok("Encrypt", {{"KeyId", "alias/app"}, {"Plaintext", B64("x")}});
  EXPECT_EQ(enc["KeyId"], "arn:aws:kms:us-east-1:000000000000:key/" + a);
  Ok("UpdateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", b}});
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", "alias/app"}})["KeyMetadata"]["KeyId"], b);
  // Decrypt naming the alias, which now points elsewhere: IncorrectKey.
  EXPECT_EQ(
      WireCode("Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"KeyId", "alias/app"}}),
      "IncorrectKeyException");

  json list = Ok("ListAliases", {{"KeyId", b}});
  ASSERT_EQ(list["Aliases"].size(), 1u);
  const json& alias = list["Aliases"][0];
  EXPECT_EQ(alias["AliasName"], "alias/app");
  EXPECT_EQ(alias["AliasArn"], "arn:aws:kms:us-east-1:000000000000:alias/app");
  EXPECT_EQ(alias["TargetKeyId"], b);
  EXPECT_TRUE(alias.contains("CreationDate"));
  EXPECT_TRUE(alias.contains("LastUpdatedDate"));
  EXPECT_EQ(list["Truncated"], false);
  EXPECT_FALSE(list.contains("NextMarker"));

  Ok("DeleteAlias", {{"AliasName", "alias/app"}});
  EXPECT_EQ(WireCode("DeleteAlias", {{"AliasName", "alias/app"}}), "NotFoundException");
}

// ListKeys and ListAliases paginate with Limit / Marker / NextMarker / Truncated.
TEST_F(KmsServiceTest, ListPagination) {
  std::set<std::string> created;
  for (int i = 0; i < 3; ++i) created.insert(NewKey());
  std::set<std::string> seen;
  json page = Ok("ListKeys", {{"Limit", 2}});
  EXPECT_EQ(page["Truncated"], true);
  ASSERT_TRUE(page.contains("NextMarker"));
  for (const json& k : page["Keys"]) {
    seen.insert(k["KeyId"].get<std::string>());
    EXPECT_EQ(k["KeyArn"],
              "arn:aws:kms:us-east-1:000000000000:key/" + k["KeyId"].get<std::string>());
  }
  page = Ok("ListKeys", {{"Limit", 2}, {"Marker", page["NextMarker"]}});
  EXPECT_EQ(page["Truncated"], false);
  for (const json& k : page["Keys"]) seen.insert(k["KeyId"].get<std::string>());
  EXPECT_EQ(seen, created);
  EXPECT_EQ(WireCode("ListKeys", {{"Marker", "bogus"}}), "InvalidMarkerException");
  EXPECT_EQ(WireCode("ListKeys", {{"Limit", 0}}), "ValidationException");
  EXPECT_EQ(WireCode("ListKeys", {{"Limit", 1001}}), "ValidationException");

  json aliases = Ok("ListAliases", {{"Limit", 1}});
  ASSERT_EQ(aliases["Aliases"].size(), 1u);
  EXPECT_EQ(aliases["Aliases"][0]["AliasName"], "alias/aws/s3");
  EXPECT_FALSE(aliases["Aliases"][0].contains("TargetKeyId"));
  aliases = Ok("ListAliases", {{"Limit", 1}, {"Marker", aliases["NextMarker"]}});
  EXPECT_EQ(aliases["Aliases"][0]["AliasName"], "alias/aws/secretsmanager");
  aliases = Ok("ListAliases", {{"Limit", 1}, {"Marker", aliases["NextMarker"]}});
  EXPECT_EQ(aliases["Aliases"][0]["AliasName"], "alias/aws/ssm");
  EXPECT_EQ(aliases["Truncated"], false);
}

// ReEncrypt moves a ciphertext to another key and reports both key ARNs.
TEST_F(KmsServiceTest, ReEncrypt) {
  std::string a = NewKey();
  std::string b = NewKey();
  json enc =
      Ok("Encrypt", {{"KeyId", a}, {"Plaintext", B64("p")}, {"EncryptionContext", {{"k", "1"}}}});
  json re = Ok("ReEncrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                             {"SourceEncryptionContext", {{"k", "1"}}},
                             {"DestinationKeyId", b},
                             {"DestinationEncryptionContext", {{"k", "2"}}}});
  EXPECT_EQ(re["SourceKeyId"], "arn:aws:kms:us-east-1:000000000000:key/" + a);
  EXPECT_EQ(re["KeyId"], "arn:aws:kms:us-east-1:000000000000:key/" + b);
  EXPECT_EQ(re["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(re["DestinationEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  json dec = Ok("Decrypt",
                {{"CiphertextBlob", re["CiphertextBlob"]}, {"EncryptionContext", {{"k", "2"}}}});
  EXPECT_TRUE(dec["Plaintext"] == B64("p"));
  EXPECT_EQ(
      WireCode("ReEncrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"DestinationKeyId", b}}),
      "InvalidCiphertextException");
}

// GenerateDataKey: KeySpec xor NumberOfBytes; the blob decrypts to the plaintext.
TEST_F(KmsServiceTest, GenerateDataKeyVariants) {
  std::string id = NewKey();
  json dk = Ok("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}});
  std::string plain = *util::Base64Decode(dk["Plaintext"].get<std::string>());
  EXPECT_EQ(plain.size(), 32u);
  json dec = Ok("Decrypt", {{"CiphertextBlob", dk["CiphertextBlob"]}});
  EXPECT_TRUE(dec["Plaintext"] == dk["Plaintext"]);
  json small = Ok("GenerateDataKey", {{"KeyId", id}, {"NumberOfBytes", 7}});
  EXPECT_EQ(util::Base64Decode(small["Plaintext"].get<std::string>())->size(), 7u);
  json aes128 = Ok("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_128"}});
  EXPECT_EQ(util::Base64Decode(aes128["Plaintext"].get<std::string>())->size(), 16u);
  EXPECT_EQ(WireCode("GenerateDataKey", {{"KeyId", id}}), "ValidationException");
  EXPECT_EQ(
      WireCode("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}, {"NumberOfBytes", 32}}),
      "ValidationException");
  json without = Ok("GenerateDataKeyWithoutPlaintext", {{"KeyId", id}, {"KeySpec", "AES_256"}});
  EXPECT_FALSE(without.contains("Plaintext"));
  EXPECT_EQ(without["KeyId"], "arn:aws:kms:us-east-1:000000000000:key/" + id);
  EXPECT_EQ(
      util::Base64Decode(Ok("Decrypt", {{"CiphertextBlob", without["CiphertextBlob"]}})["Plaintext"]
                             .get<std::string>())
          ->size(),
      32u);
}

// GenerateRandom returns NumberOfBytes random bytes.
TEST_F(KmsServiceTest, GenerateRandom) {
  json r = Ok("GenerateRandom", {{"NumberOfBytes", 48}});
  EXPECT_EQ(util::Base64Decode(r["Plaintext"].get<std::string>())->size(), 48u);
  EXPECT_EQ(WireCode("GenerateRandom", {{"NumberOfBytes", 1025}}), "ValidationException");
}

// Unknown operations are reported as such; server faults map to KMSInternalException 500.
TEST_F(KmsServiceTest, UnknownOperationAndInternalErrorMapping) {
  EXPECT_EQ(WireCode("Sign", json::object()), "UnknownOperationException");
  // Coffer's RewrapStoredValues exists only once the server wired the stores in.
  EXPECT_EQ(WireCode("RewrapStoredValues", json::object()), "UnknownOperationException");
  // Damaged key material is a server-side fault: KMSInternalException, message kept.
  WireError damaged =
      MapError("kms", Error{ErrorCode::kDataLoss, Reason::kKeyMaterialDamaged, "key material"});
  EXPECT_EQ(damaged.code, "KMSInternalException");
  EXPECT_EQ(damaged.status, 500);
  WireError w = MapError("kms", Error{ErrorCode::kInternal, Reason::kNone, "boom"});
  EXPECT_EQ(w.code, "KMSInternalException");
  EXPECT_EQ(w.status, 500);
  int status = 0;
  EXPECT_EQ(WireCode("DescribeKey", {{"KeyId", "alias/nope"}}, &status), "NotFoundException");
  EXPECT_EQ(status, 400);
}

// With authorization on, each operation is checked on the resolved key ARN.
TEST_F(KmsServiceTest, PoliciesAreCheckedOnTheKeyArn) {
  std::string a = NewKey();
  std::string b = NewKey();
  ASSERT_TRUE(Ok("CreateAlias", {{"AliasName", "alias/a"}, {"TargetKeyId", a}}).empty());
  json enc_b = Ok("Encrypt", {{"KeyId", b}, {"Plaintext", B64("x")}});
  std::string arn_a = "arn:aws:kms:us-east-1:000000000000:key/" + a;
  auth::PolicyCache cache;
  auto policies = cache.Get("user", 1,
                            {{"p", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                                   R"("Action":["kms:Encrypt","kms:Decrypt"],"Resource":")" +
                                       arn_a + R"("}]})"}});
  auth::Principal user;
  user.arn = "arn:aws:iam::000000000000:user/app";
  user.account_id = "000000000000";
  auto call = [&](std::string_view op, const json& body) {
    auth::RequestAuthorization authz(user, policies, "127.0.0.1", true, clock_.Now());
    return CallService(*service_, op, body, caller_, &authz, "req-2");
  };
  auto denied = [&](std::string_view op, const json& body) {
    auto r = call(op, body);
    return !r.has_value() && MapError("kms", r.error()).code == "AccessDeniedException";
  };
  // Allowed on key A, by id and through its alias.
  auto enc = call("Encrypt", {{"KeyId", "alias/a"}, {"Plaintext", B64("x")}});
  ASSERT_TRUE(enc.has_value());
  EXPECT_TRUE(call("Decrypt", {{"CiphertextBlob", (*enc)["CiphertextBlob"]}}).has_value());
  // Denied on key B, for other actions, and for unknown keys.
  EXPECT_TRUE(denied("Encrypt", {{"KeyId", b}, {"Plaintext", B64("x")}}));
  EXPECT_TRUE(denied("Decrypt", {{"CiphertextBlob", enc_b["CiphertextBlob"]}}));
  EXPECT_TRUE(denied("DescribeKey", {{"KeyId", a}}));
  EXPECT_TRUE(denied("ListKeys", json::object()));
  EXPECT_TRUE(denied("DisableKey", {{"KeyId", a}}));
  EXPECT_TRUE(denied("DescribeKey", {{"KeyId", "alias/none"}}));
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", a}})["KeyMetadata"]["KeyState"], "Enabled");
}

}  // namespace
}  // namespace coffer::api::awsjson
