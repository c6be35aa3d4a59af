// domain/s3: buckets and objects, the store behind the S3 API (api/s3).
// Knows nothing of HTTP, XML or SigV4.
//
// Every object byte is encrypted before it reaches storage: an object's data
// is cut into chunks of at most kChunkBytes (1 MiB), each its own storage
// record, each sealed by keyring/ under the object's KMS key (the request's
// SSE-KMS key, else the AWS-managed alias/aws/s3) with associated data naming
// the bucket, the object key, the object's data id and the chunk's place, so
// that a chunk moved to another record, object or position does not open.
// A future clustered backend with a per-record size limit holds objects too.
//
// Storage records (docs/formats/storage-keys.md):
//   s3/bucket/<bucket>                       bucket (creation date, policy)
//   s3/object/<bucket>/<key>                 object metadata (size, ETag, content type,
//                                            x-amz-meta-*, KMS key, data id, parts)
//   s3/chunk/<data-id>/<part:05>/<chunk:06>  one sealed chunk of an object's data
//   s3/upload/<bucket>/<upload-id>           a multipart upload in progress
//   s3/part/<upload-id>/<part:05>            an uploaded part (size, MD5); its data is
//                                            under s3/chunk/<upload-id>/<part>/...
//
// Writes are transactional: an object's chunks and its metadata record are
// committed in one storage transaction (which also deletes the data of the
// object it replaces), so a failed or refused upload leaves nothing, and a
// reader never sees a half-written object. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/kms/key_directory.h"
#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/id_generator.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::domain::s3 {

// Persisted: chunk boundaries of stored objects depend on it; never change.
inline constexpr uint64_t kChunkBytes = 1024 * 1024;
inline constexpr std::string_view kDefaultKeyAlias = "alias/aws/s3";
inline constexpr uint64_t kDefaultMaxObjectBytes = 5ull * 1024 * 1024 * 1024;  // 5 GiB
inline constexpr uint64_t kMinPartBytes = 5ull * 1024 * 1024;  // all parts but the last
inline constexpr int kMaxPartNumber = 10000;
inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr size_t kMaxMetadataBytes = 2048;  // x-amz-meta-* names and values together
inline constexpr size_t kMaxPolicyBytes = 20 * 1024;
inline constexpr int kMaxListKeys = 1000;

struct ObjectStoreOptions {
  // The largest object (a PutObject body, a CopyObject source, or a completed
  // multipart upload's parts together); larger: kInvalidArgument
  // (kEntityTooLarge). `coffer server --s3-max-object-size`.
  uint64_t max_object_bytes = kDefaultMaxObjectBytes;
};

using Metadata = std::map<std::string, std::string, std::less<>>;

struct Bucket {
  std::string name;
  util::SystemTime created;
  std::string policy;  // the bucket policy as given; "" = none
  storage::Revision revision = 0;
};

// One part of an object's data: its chunks are s3/chunk/<data_id>/<number>/...
struct PartExtent {
  uint32_t number = 0;
  uint64_t size = 0;
};

struct ObjectInfo {
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes: MD5 hex, or "<md5 of the part MD5s>-<N>"
  std::string content_type;
  Metadata metadata;  // x-amz-meta-* without the prefix, names lower-case
  std::string kms_key_id;
  std::string kms_key_arn;
  util::SystemTime modified;
  std::string data_id;
  std::vector<PartExtent> parts;
};

// What a write of an object's attributes says (PutObject, CopyObject with
// REPLACE, CreateMultipartUpload).
struct ObjectAttributes {
  std::string content_type;  // "" = binary/octet-stream
  Metadata metadata;
  // SSE-KMS key in any KeyId form; nullopt = the default (alias/aws/s3).
  std::optional<std::string> kms_key;
};

struct ListRequest {
  std::string prefix;
  std::string delimiter;  // "" = none
  std::string start_after;  // keys (and common prefixes) <= this are skipped
  int max_keys = kMaxListKeys;  // 0..1000
};

struct ListResult {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string last;  // the last key or common prefix returned (continuation)
};

struct PartInfo {
  uint32_t number = 0;
  uint64_t size = 0;
  std::string etag;  // MD5 hex
  util::SystemTime modified;
};

struct Upload {
  std::string upload_id;
  std::string bucket;
  std::string key;
  std::string content_type;
  Metadata metadata;
  std::string kms_key_id;
  std::string kms_key_arn;
  util::SystemTime initiated;
};

class ObjectStore {
 public:
  // All references must outlive the store.
  ObjectStore(storage::Backend& backend, keyring::Keyring& keyring, kms::KeyDirectory& keys,
              util::Clock& clock, util::IdGenerator& ids, ObjectStoreOptions options = {});

  const ObjectStoreOptions& options() const { return options_; }

  // S3's bucket naming rules (3..63 of a-z 0-9 . -, starting and ending with a
  // letter or digit, no "..", not an IPv4 address): kInvalidArgument
  // (kInvalidBucketName) otherwise.
  static Status ValidateBucketName(std::string_view name);
  // 1..1024 bytes: kInvalidArgument (kValidation) otherwise.
  static Status ValidateKey(std::string_view key);

  // --- buckets -----------------------------------------------------------
  // kAlreadyExists (kBucketAlreadyOwnedByYou) when it exists (one account
  // owns every bucket); kInvalidArgument (kInvalidBucketName).
  Result<Bucket> CreateBucket(std::string_view name);
  // kNotFound (kNoSuchBucket).
  Result<Bucket> GetBucket(std::string_view name);
  // Every bucket, by name.
  Result<std::vector<Bucket>> ListBuckets();
  // Only an empty bucket (no objects, no multipart uploads in progress):
  // kFailedPrecondition (kBucketNotEmpty) otherwise; kNotFound (kNoSuchBucket).
  Status DeleteBucket(std::string_view name);
  // Stores `policy` as given (the caller validated it). kNotFound (kNoSuchBucket).
  Status PutBucketPolicy(std::string_view name, std::string_view policy);
  // kNotFound (kNoSuchBucket); deleting an absent policy is not an error.
  Status DeleteBucketPolicy(std::string_view name);

  // --- objects -----------------------------------------------------------
  // Stores `data` as the object, replacing any object of that key; the MD5
  // ETag is computed here. kNotFound (kNoSuchBucket); kInvalidArgument
  // (kEntityTooLarge) over options().max_object_bytes; key errors of
  // KeyDirectory::Resolve for attributes.kms_key (kNotFound kInvalidKeyId,
  // kFailedPrecondition kKeyDisabled). Durable before it returns; changes
  // nothing on error.
  Result<ObjectInfo> PutObject(std::string_view bucket, std::string_view key,
                               std::string_view data, const ObjectAttributes& attributes);
  // The object's metadata. kNotFound (kNoSuchBucket, kNoSuchKey).
  Result<ObjectInfo> HeadObject(std::string_view bucket, std::string_view key);
  // `length` bytes of `object` from `offset`. REQUIRES: offset + length <=
  // object.size. kDataLoss when a chunk is missing or does not open (tampered,
  // moved); kNotFound when the object was replaced meanwhile.
  Result<SecretBytes> ReadObject(const ObjectInfo& object, uint64_t offset, uint64_t length);
  // Removes the object; an absent key is not an error (S3's 204).
  // kNotFound (kNoSuchBucket).
  Status DeleteObject(std::string_view bucket, std::string_view key);
  // Keys in order (ListObjectsV2). kNotFound (kNoSuchBucket).
  Result<ListResult> ListObjects(std::string_view bucket, const ListRequest& request);
  // Copies the source's bytes (decrypted and sealed again under the
  // destination's key). `replace`: the destination takes these attributes
  // instead of the source's (the key always comes from `replace` or the
  // default, as on S3). Errors as HeadObject (source) and PutObject.
  Result<ObjectInfo> CopyObject(std::string_view src_bucket, std::string_view src_key,
                                std::string_view dst_bucket, std::string_view dst_key,
                                const std::optional<ObjectAttributes>& replace,
                                const std::optional<std::string>& kms_key);

  // --- multipart uploads -------------------------------------------------
  // kNotFound (kNoSuchBucket); key errors as PutObject.
  Result<Upload> CreateUpload(std::string_view bucket, std::string_view key,
                              const ObjectAttributes& attributes);
  // kNotFound (kNoSuchUpload) for an unknown id or one of another key.
  Result<Upload> GetUpload(std::string_view bucket, std::string_view key,
                           std::string_view upload_id);
  // Stores part `number` (1..10000; kInvalidArgument kInvalidS3Request
  // otherwise), replacing an earlier upload of that number. Returns its MD5
  // hex. kInvalidArgument (kEntityTooLarge) over max_object_bytes.
  Result<std::string> UploadPart(std::string_view bucket, std::string_view key,
                                 std::string_view upload_id, int number, std::string_view data);
  // The parts uploaded so far, by number. kNotFound (kNoSuchUpload).
  Result<std::vector<PartInfo>> ListParts(std::string_view bucket, std::string_view key,
                                          std::string_view upload_id);
  // Assembles the object from `parts` ((number, ETag) in ascending order;
  // kInvalidArgument kInvalidPartOrder otherwise), each of which must have
  // been uploaded with that ETag (kInvalidArgument kInvalidPart); every part
  // but the last must hold at least kMinPartBytes (kInvalidArgument
  // kEntityTooSmall). Parts not named are dropped. The upload ends.
  // kNotFound (kNoSuchUpload); kInvalidArgument (kEntityTooLarge).
  Result<ObjectInfo> CompleteUpload(std::string_view bucket, std::string_view key,
                                    std::string_view upload_id,
                                    const std::vector<std::pair<int, std::string>>& parts);
  // The uploads in progress in `bucket` whose key starts with `prefix`, by
  // key then upload id, at most kMaxListKeys. kNotFound (kNoSuchBucket).
  Result<std::vector<Upload>> ListUploads(std::string_view bucket, std::string_view prefix);
  // Drops the upload and every part's data. kNotFound (kNoSuchUpload).
  Status AbortUpload(std::string_view bucket, std::string_view key, std::string_view upload_id);

 private:
  struct Sealed;
  Result<kms::KeyMetadata> ResolveKey(const std::optional<std::string>& kms_key);
  Result<std::vector<storage::Write>> SealChunks(std::string_view bucket, std::string_view key,
                                                 std::string_view data_id, uint32_t part,
                                                 std::string_view key_id, std::string_view data);
  Result<ObjectInfo> Write(std::string_view bucket, std::string_view key, std::string_view data,
                           const ObjectAttributes& attributes);
  Status CheckBucket(std::string_view bucket);

  storage::Backend& backend_;
  keyring::Keyring& keyring_;
  kms::KeyDirectory& keys_;
  util::Clock& clock_;
  util::IdGenerator& ids_;
  ObjectStoreOptions options_;
};

}  // namespace coffer::domain::s3
