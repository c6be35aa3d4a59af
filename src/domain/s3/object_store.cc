#include "domain/s3/object_store.h"

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <utility>

#include "crypto/checksum.h"
#include "domain/record.h"
#include "domain/record_store.h"
#include "util/encoding.h"

namespace coffer::domain::s3 {
namespace {

constexpr uint64_t kBucketFormat = 1;
constexpr uint64_t kObjectFormat = 1;
constexpr uint64_t kUploadFormat = 1;
constexpr uint64_t kPartFormat = 1;

constexpr std::string_view kBucketPrefix = "s3/bucket/";
constexpr std::string_view kObjectPrefix = "s3/object/";
constexpr std::string_view kChunkPrefix = "s3/chunk/";
constexpr std::string_view kUploadPrefix = "s3/upload/";
constexpr std::string_view kPartPrefix = "s3/part/";

std::string BucketKey(std::string_view bucket) { return std::string(kBucketPrefix) + std::string(bucket); }
std::string ObjectPrefix(std::string_view bucket) {
  return std::string(kObjectPrefix) + std::string(bucket) + "/";
}
std::string ObjectKey(std::string_view bucket, std::string_view key) {
  return ObjectPrefix(bucket) + std::string(key);
}
std::string UploadPrefix(std::string_view bucket) {
  return std::string(kUploadPrefix) + std::string(bucket) + "/";
}
std::string UploadKey(std::string_view bucket, std::string_view upload_id) {
  return UploadPrefix(bucket) + std::string(upload_id);
}
std::string PartPrefix(std::string_view upload_id) {
  return std::string(kPartPrefix) + std::string(upload_id) + "/";
}
std::string Number(uint64_t n, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(n));
  return buf;
}
std::string PartKey(std::string_view upload_id, uint32_t part) {
  return PartPrefix(upload_id) + Number(part, 5);
}
std::string ChunkKey(std::string_view data_id, uint32_t part, uint64_t chunk) {
  return std::string(kChunkPrefix) + std::string(data_id) + "/" + Number(part, 5) + "/" +
         Number(chunk, 6);
}
// The associated data of a chunk: its bucket, object key, data id and place.
std::string ChunkAad(std::string_view bucket, std::string_view key, std::string_view data_id,
                     uint32_t part, uint64_t chunk) {
  std::string aad = "s3/chunk\n";
  aad.append(bucket).push_back('\n');
  aad.append(key).push_back('\n');
  aad.append(data_id).push_back('\n');
  aad += Number(part, 5) + "/" + Number(chunk, 6);
  return aad;
}
// A part number from a storage key (5 digits; anything else reads as 0, a
// number no part has).
uint32_t ParsePartNumber(std::string_view digits) {
  uint32_t n = 0;
  if (digits.empty() || digits.size() > 5) return 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

uint64_t ChunkCount(uint64_t size) { return (size + kChunkBytes - 1) / kChunkBytes; }

std::string Md5Hex(std::string_view data) {
  auto d = crypto::Md5(data);
  return util::HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

// --- record codecs ---------------------------------------------------------

std::string EncodeBucket(const Bucket& b) {
  RecordWriter w;
  w.PutFormat(kBucketFormat);
  w.PutSignedVarint(util::ToUnixMillis(b.created));
  w.PutString(b.policy);
  return std::move(w).Release();
}
Result<Bucket> DecodeBucket(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_RETURN_IF_ERROR(r.Format("S3 bucket", kBucketFormat));
  Bucket b;
  COFFER_ASSIGN_OR_RETURN(int64_t created, r.SignedVarint());
  b.created = util::FromUnixMillis(created);
  COFFER_ASSIGN_OR_RETURN(b.policy, r.String());
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return b;
}

std::string EncodeObject(const ObjectInfo& o) {
  RecordWriter w;
  w.PutFormat(kObjectFormat);
  w.PutVarint(o.size);
  w.PutString(o.etag);
  w.PutString(o.content_type);
  w.PutStringMap(o.metadata);
  w.PutString(o.kms_key_id);
  w.PutString(o.kms_key_arn);
  w.PutSignedVarint(util::ToUnixMillis(o.modified));
  w.PutString(o.data_id);
  w.PutVarint(o.parts.size());
  for (const PartExtent& p : o.parts) {
    w.PutVarint(p.number);
    w.PutVarint(p.size);
  }
  return std::move(w).Release();
}
Result<ObjectInfo> DecodeObject(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_RETURN_IF_ERROR(r.Format("S3 object", kObjectFormat));
  ObjectInfo o;
  COFFER_ASSIGN_OR_RETURN(o.size, r.Varint());
  COFFER_ASSIGN_OR_RETURN(o.etag, r.String());
  COFFER_ASSIGN_OR_RETURN(o.content_type, r.String());
  COFFER_ASSIGN_OR_RETURN(o.metadata, r.StringMap());
  COFFER_ASSIGN_OR_RETURN(o.kms_key_id, r.String());
  COFFER_ASSIGN_OR_RETURN(o.kms_key_arn, r.String());
  COFFER_ASSIGN_OR_RETURN(int64_t modified, r.SignedVarint());
  o.modified = util::FromUnixMillis(modified);
  COFFER_ASSIGN_OR_RETURN(o.data_id, r.String());
  COFFER_ASSIGN_OR_RETURN(uint64_t count, r.Varint());
  uint64_t total = 0;
  for (uint64_t i = 0; i < count; ++i) {
    PartExtent p;
    COFFER_ASSIGN_OR_RETURN(uint64_t number, r.Varint());
    COFFER_ASSIGN_OR_RETURN(p.size, r.Varint());
    if (number == 0 || number > kMaxPartNumber) {
      return Fail(ErrorCode::kDataLoss, "S3 object record names a bad part number",
                  Reason::kMalformedInput);
    }
    p.number = static_cast<uint32_t>(number);
    total += p.size;
    o.parts.push_back(p);
  }
  if (total != o.size) {
    return Fail(ErrorCode::kDataLoss, "S3 object record's parts do not add up to its size",
                Reason::kMalformedInput);
  }
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return o;
}

std::string EncodeUpload(const Upload& u) {
  RecordWriter w;
  w.PutFormat(kUploadFormat);
  w.PutString(u.key);
  w.PutString(u.content_type);
  w.PutStringMap(u.metadata);
  w.PutString(u.kms_key_id);
  w.PutString(u.kms_key_arn);
  w.PutSignedVarint(util::ToUnixMillis(u.initiated));
  return std::move(w).Release();
}
Result<Upload> DecodeUpload(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_RETURN_IF_ERROR(r.Format("S3 upload", kUploadFormat));
  Upload u;
  COFFER_ASSIGN_OR_RETURN(u.key, r.String());
  COFFER_ASSIGN_OR_RETURN(u.content_type, r.String());
  COFFER_ASSIGN_OR_RETURN(u.metadata, r.StringMap());
  COFFER_ASSIGN_OR_RETURN(u.kms_key_id, r.String());
  COFFER_ASSIGN_OR_RETURN(u.kms_key_arn, r.String());
  COFFER_ASSIGN_OR_RETURN(int64_t initiated, r.SignedVarint());
  u.initiated = util::FromUnixMillis(initiated);
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return u;
}

std::string EncodePart(const PartInfo& p) {
  RecordWriter w;
  w.PutFormat(kPartFormat);
  w.PutVarint(p.size);
  w.PutString(p.etag);
  w.PutSignedVarint(util::ToUnixMillis(p.modified));
  return std::move(w).Release();
}
Result<PartInfo> DecodePart(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_RETURN_IF_ERROR(r.Format("S3 part", kPartFormat));
  PartInfo p;
  COFFER_ASSIGN_OR_RETURN(p.size, r.Varint());
  COFFER_ASSIGN_OR_RETURN(p.etag, r.String());
  COFFER_ASSIGN_OR_RETURN(int64_t modified, r.SignedVarint());
  p.modified = util::FromUnixMillis(modified);
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return p;
}

std::unexpected<Error> NoSuchBucket() {
  return Fail(ErrorCode::kNotFound, "The specified bucket does not exist", Reason::kNoSuchBucket);
}
std::unexpected<Error> NoSuchKey() {
  return Fail(ErrorCode::kNotFound, "The specified key does not exist.", Reason::kNoSuchKey);
}
std::unexpected<Error> NoSuchUpload() {
  return Fail(ErrorCode::kNotFound,
              "The specified upload does not exist. The upload ID may be invalid, or the upload "
              "may have been aborted or completed.",
              Reason::kNoSuchUpload);
}
std::unexpected<Error> TooLarge(uint64_t max) {
  return Fail(ErrorCode::kInvalidArgument,
              "Your proposed upload exceeds the maximum allowed size (" + std::to_string(max) +
                  " bytes)",
              Reason::kEntityTooLarge);
}

// Deletes of every chunk of `object`'s data.
void DeleteChunks(const ObjectInfo& object, std::vector<storage::Write>& writes) {
  for (const PartExtent& p : object.parts) {
    for (uint64_t c = 0; c < ChunkCount(p.size); ++c) {
      writes.push_back(storage::Write::Delete(ChunkKey(object.data_id, p.number, c)));
    }
  }
}

bool IsIpv4(std::string_view s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace

ObjectStore::ObjectStore(storage::Backend& backend, keyring::Keyring& keyring,
                         kms::KeyDirectory& keys, util::Clock& clock, util::IdGenerator& ids,
                         ObjectStoreOptions options)
    : backend_(backend),
      keyring_(keyring),
      keys_(keys),
      clock_(clock),
      ids_(ids),
      options_(options) {}

Status ObjectStore::ValidateBucketName(std::string_view name) {
  auto bad = [&]() {
    return Fail(ErrorCode::kInvalidArgument, "The specified bucket is not valid.",
                Reason::kInvalidBucketName);
  };
  if (name.size() < 3 || name.size() > 63) return bad();
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return bad();
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return bad();
  if (name.find("..") != std::string_view::npos || IsIpv4(name)) return bad();
  return Ok();
}

Status ObjectStore::ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Fail(ErrorCode::kInvalidArgument, "Your key is too long or empty.",
                Reason::kValidation);
  }
  return Ok();
}

// --- buckets ----------------------------------------------------------------

Result<Bucket> ObjectStore::CreateBucket(std::string_view name) {
  COFFER_RETURN_IF_ERROR(ValidateBucketName(name));
  Bucket b;
  b.name = std::string(name);
  b.created = clock_.Now();
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{BucketKey(name), 0});
  txn.writes.push_back(storage::Write::Put(BucketKey(name), EncodeBucket(b)));
  auto rev = backend_.Commit(txn);
  if (!rev) {
    if (rev.error().code == ErrorCode::kAborted) {
      return Fail(ErrorCode::kAlreadyExists,
                  "Your previous request to create the named bucket succeeded and you already "
                  "own it.",
                  Reason::kBucketAlreadyOwnedByYou);
    }
    return std::unexpected(std::move(rev).error());
  }
  b.revision = *rev;
  return b;
}

Result<Bucket> ObjectStore::GetBucket(std::string_view name) {
  if (!ValidateBucketName(name)) return NoSuchBucket();
  COFFER_ASSIGN_OR_RETURN(auto stored, GetRecord<Bucket>(backend_, BucketKey(name), DecodeBucket));
  if (!stored) return NoSuchBucket();
  stored->value.name = std::string(name);
  stored->value.revision = stored->revision;
  return std::move(stored->value);
}

Status ObjectStore::CheckBucket(std::string_view bucket) {
  COFFER_RETURN_IF_ERROR(GetBucket(bucket));
  return Ok();
}

Result<std::vector<Bucket>> ObjectStore::ListBuckets() {
  COFFER_ASSIGN_OR_RETURN(auto records, ScanRecords<Bucket>(backend_, kBucketPrefix, DecodeBucket));
  std::vector<Bucket> out;
  for (auto& [name, stored] : records) {
    stored.value.name = name;
    stored.value.revision = stored.revision;
    out.push_back(std::move(stored.value));
  }
  return out;
}

Status ObjectStore::DeleteBucket(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(Bucket bucket, GetBucket(name));
  for (const std::string& prefix : {ObjectPrefix(name), UploadPrefix(name)}) {
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult some,
                            backend_.Range(prefix, storage::PrefixEnd(prefix), 1));
    if (!some.entries.empty()) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "The bucket you tried to delete is not empty", Reason::kBucketNotEmpty);
    }
  }
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{BucketKey(name), bucket.revision});
  txn.writes.push_back(storage::Write::Delete(BucketKey(name)));
  auto rev = backend_.Commit(txn);
  if (!rev && rev.error().code == ErrorCode::kAborted) {
    return ConcurrentUpdates("bucket " + std::string(name));
  }
  if (!rev) return std::unexpected(std::move(rev).error());
  return Ok();
}

Status ObjectStore::PutBucketPolicy(std::string_view name, std::string_view policy) {
  if (!ValidateBucketName(name)) return NoSuchBucket();
  COFFER_ASSIGN_OR_RETURN(auto updated,
                          UpdateRecord<Bucket>(backend_, BucketKey(name), "bucket", DecodeBucket,
                                               EncodeBucket, [&](Bucket& b) -> Status {
                                                 b.policy = std::string(policy);
                                                 return Ok();
                                               }));
  if (!updated) return NoSuchBucket();
  return Ok();
}

Status ObjectStore::DeleteBucketPolicy(std::string_view name) {
  return PutBucketPolicy(name, "");
}

// --- objects ----------------------------------------------------------------

Result<kms::KeyMetadata> ObjectStore::ResolveKey(const std::optional<std::string>& kms_key) {
  return keys_.Resolve(kms_key && !kms_key->empty() ? std::string_view(*kms_key)
                                                    : kDefaultKeyAlias);
}

Result<std::vector<storage::Write>> ObjectStore::SealChunks(std::string_view bucket,
                                                            std::string_view key,
                                                            std::string_view data_id,
                                                            uint32_t part,
                                                            std::string_view key_id,
                                                            std::string_view data) {
  std::vector<storage::Write> writes;
  uint64_t count = ChunkCount(data.size());
  writes.reserve(count);
  for (uint64_t c = 0; c < count; ++c) {
    std::string_view chunk = data.substr(c * kChunkBytes, kChunkBytes);
    COFFER_ASSIGN_OR_RETURN(
        std::string sealed,
        keyring_.Encrypt(key_id, ChunkAad(bucket, key, data_id, part, c), chunk));
    writes.push_back(storage::Write::Put(ChunkKey(data_id, part, c), std::move(sealed)));
  }
  return writes;
}

Result<ObjectInfo> ObjectStore::Write(std::string_view bucket, std::string_view key,
                                      std::string_view data, const ObjectAttributes& attributes) {
  COFFER_RETURN_IF_ERROR(ValidateKey(key));
  if (data.size() > options_.max_object_bytes) return TooLarge(options_.max_object_bytes);
  COFFER_RETURN_IF_ERROR(CheckBucket(bucket));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata kms_key, ResolveKey(attributes.kms_key));
  ObjectInfo object;
  object.bucket = std::string(bucket);
  object.key = std::string(key);
  object.size = data.size();
  object.etag = Md5Hex(data);
  object.content_type = attributes.content_type;
  object.metadata = attributes.metadata;
  object.kms_key_id = kms_key.key_id;
  object.kms_key_arn = kms_key.arn;
  object.modified = clock_.Now();
  object.data_id = ids_.NewUuid();
  if (!data.empty()) object.parts.push_back(PartExtent{1, data.size()});
  // Sealed once; only the compares are redone when the transaction is retried.
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Write> chunks,
                          SealChunks(bucket, key, object.data_id, 1, kms_key.key_id, data));
  std::string object_key = ObjectKey(bucket, key);
  std::string encoded = EncodeObject(object);
  COFFER_RETURN_IF_ERROR(CommitWithRetry(
      backend_, "object " + std::string(key), [&]() -> Result<std::optional<storage::Txn>> {
        COFFER_ASSIGN_OR_RETURN(Bucket b, GetBucket(bucket));
        COFFER_ASSIGN_OR_RETURN(auto old, GetRecord<ObjectInfo>(backend_, object_key, DecodeObject));
        storage::Txn txn;
        txn.compares.push_back(storage::Compare{BucketKey(bucket), b.revision});
        txn.compares.push_back(storage::Compare{object_key, old ? old->revision : 0});
        if (old) DeleteChunks(old->value, txn.writes);
        txn.writes.insert(txn.writes.end(), chunks.begin(), chunks.end());
        txn.writes.push_back(storage::Write::Put(object_key, encoded));
        return std::optional<storage::Txn>(std::move(txn));
      }));
  return object;
}

Result<ObjectInfo> ObjectStore::PutObject(std::string_view bucket, std::string_view key,
                                          std::string_view data,
                                          const ObjectAttributes& attributes) {
  return Write(bucket, key, data, attributes);
}

Result<ObjectInfo> ObjectStore::HeadObject(std::string_view bucket, std::string_view key) {
  COFFER_RETURN_IF_ERROR(CheckBucket(bucket));
  if (!ValidateKey(key)) return NoSuchKey();
  COFFER_ASSIGN_OR_RETURN(auto stored,
                          GetRecord<ObjectInfo>(backend_, ObjectKey(bucket, key), DecodeObject));
  if (!stored) return NoSuchKey();
  stored->value.bucket = std::string(bucket);
  stored->value.key = std::string(key);
  return std::move(stored->value);
}

Result<SecretBytes> ObjectStore::ReadObject(const ObjectInfo& object, uint64_t offset,
                                            uint64_t length) {
  if (offset > object.size || length > object.size - offset) {
    return Fail(ErrorCode::kInvalidArgument, "The requested range is not satisfiable",
                Reason::kInvalidRange);
  }
  SecretBytes out(static_cast<size_t>(length));
  uint64_t written = 0;
  uint64_t part_start = 0;
  for (const PartExtent& p : object.parts) {
    uint64_t part_end = part_start + p.size;
    if (written == length) break;
    if (part_end <= offset) {
      part_start = part_end;
      continue;
    }
    uint64_t from = std::max(offset, part_start) - part_start;  // within the part
    while (written < length && from < p.size) {
      uint64_t chunk = from / kChunkBytes;
      std::string chunk_key = ChunkKey(object.data_id, p.number, chunk);
      auto entry = backend_.Get(chunk_key);
      if (!entry) {
        if (entry.error().code == ErrorCode::kNotFound) {
          return Fail(ErrorCode::kNotFound,
                      "The object changed while it was being read; try again.",
                      Reason::kNoSuchKey);
        }
        return std::unexpected(std::move(entry).error());
      }
      COFFER_ASSIGN_OR_RETURN(
          keyring::Decrypted opened,
          keyring_.Decrypt(ChunkAad(object.bucket, object.key, object.data_id, p.number, chunk),
                           entry->value));
      uint64_t expected = std::min(kChunkBytes, p.size - chunk * kChunkBytes);
      if (opened.plaintext.size() != expected) {
        return Fail(ErrorCode::kDataLoss, "An S3 object chunk has the wrong size.",
                    Reason::kCiphertextTampered);
      }
      uint64_t in_chunk = from - chunk * kChunkBytes;
      uint64_t n = std::min(expected - in_chunk, length - written);
      std::copy_n(opened.plaintext.bytes() + in_chunk, n, out.MutableData() + written);
      written += n;
      from += n;
    }
    part_start = part_end;
  }
  if (written != length) {
    return Fail(ErrorCode::kDataLoss, "An S3 object's parts are shorter than its size.",
                Reason::kMalformedInput);
  }
  return out;
}

Status ObjectStore::DeleteObject(std::string_view bucket, std::string_view key) {
  COFFER_RETURN_IF_ERROR(CheckBucket(bucket));
  if (!ValidateKey(key)) return Ok();
  std::string object_key = ObjectKey(bucket, key);
  COFFER_RETURN_IF_ERROR(CommitWithRetry(
      backend_, "object " + std::string(key), [&]() -> Result<std::optional<storage::Txn>> {
        COFFER_ASSIGN_OR_RETURN(auto old, GetRecord<ObjectInfo>(backend_, object_key, DecodeObject));
        if (!old) return std::optional<storage::Txn>();
        storage::Txn txn;
        txn.compares.push_back(storage::Compare{object_key, old->revision});
        DeleteChunks(old->value, txn.writes);
        txn.writes.push_back(storage::Write::Delete(object_key));
        return std::optional<storage::Txn>(std::move(txn));
      }));
  return Ok();
}

Result<ListResult> ObjectStore::ListObjects(std::string_view bucket, const ListRequest& request) {
  COFFER_RETURN_IF_ERROR(CheckBucket(bucket));
  ListResult out;
  int max_keys = std::clamp(request.max_keys, 0, kMaxListKeys);
  std::string base = ObjectPrefix(bucket);
  std::string start = base + request.prefix;
  std::string end = storage::PrefixEnd(start);
  if (!request.start_after.empty() && request.start_after >= request.prefix) {
    // The first key after start_after: start_after + "\0".
    std::string after = base + request.start_after;
    after.push_back('\0');
    if (after > start) start = std::move(after);
    // Resuming after a common prefix skips every key under it.
    if (!request.delimiter.empty() && request.start_after.starts_with(request.prefix) &&
        request.start_after.size() > request.prefix.size() &&
        request.start_after.find(request.delimiter, request.prefix.size()) ==
            request.start_after.size() - request.delimiter.size()) {
      std::string skip = storage::PrefixEnd(base + request.start_after);
      if (skip.empty()) return out;
      if (skip > start) start = std::move(skip);
    }
  }
  if (max_keys == 0) {
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult some, backend_.Range(start, end, 1));
    out.truncated = !some.entries.empty();
    return out;
  }
  int returned = 0;
  while (true) {
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult page, backend_.Range(start, end, 256));
    if (page.entries.empty()) return out;
    for (storage::Entry& e : page.entries) {
      std::string key = e.key.substr(base.size());
      if (!request.delimiter.empty()) {
        size_t at = key.find(request.delimiter, request.prefix.size());
        if (at != std::string::npos) {
          std::string common = key.substr(0, at + request.delimiter.size());
          if (returned == max_keys) {
            out.truncated = true;
            return out;
          }
          out.common_prefixes.push_back(common);
          out.last = common;
          ++returned;
          // Skip every key under this common prefix.
          start = storage::PrefixEnd(base + common);
          if (start.empty() || (!end.empty() && start >= end)) return out;
          goto next_page;
        }
      }
      if (returned == max_keys) {
        out.truncated = true;
        return out;
      }
      {
        COFFER_ASSIGN_OR_RETURN(ObjectInfo object, DecodeObject(e.value));
        object.bucket = std::string(bucket);
        object.key = key;
        out.last = key;
        out.objects.push_back(std::move(object));
        ++returned;
      }
      start = e.key;
      start.push_back('\0');
    }
    if (!page.more) return out;
  next_page:;
  }
}

Result<ObjectInfo> ObjectStore::CopyObject(std::string_view src_bucket, std::string_view src_key,
                                           std::string_view dst_bucket, std::string_view dst_key,
                                           const std::optional<ObjectAttributes>& replace,
                                           const std::optional<std::string>& kms_key) {
  COFFER_ASSIGN_OR_RETURN(ObjectInfo source, HeadObject(src_bucket, src_key));
  if (source.size > options_.max_object_bytes) return TooLarge(options_.max_object_bytes);
  COFFER_ASSIGN_OR_RETURN(SecretBytes data, ReadObject(source, 0, source.size));
  ObjectAttributes attributes;
  if (replace) {
    attributes = *replace;
  } else {
    attributes.content_type = source.content_type;
    attributes.metadata = source.metadata;
  }
  attributes.kms_key = kms_key;
  return Write(dst_bucket, dst_key, data.Reveal(), attributes);
}

// --- multipart uploads ------------------------------------------------------

Result<Upload> ObjectStore::CreateUpload(std::string_view bucket, std::string_view key,
                                         const ObjectAttributes& attributes) {
  COFFER_RETURN_IF_ERROR(ValidateKey(key));
  COFFER_ASSIGN_OR_RETURN(Bucket b, GetBucket(bucket));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata kms_key, ResolveKey(attributes.kms_key));
  Upload u;
  u.upload_id = ids_.NewToken("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 48);
  u.bucket = std::string(bucket);
  u.key = std::string(key);
  u.content_type = attributes.content_type;
  u.metadata = attributes.metadata;
  u.kms_key_id = kms_key.key_id;
  u.kms_key_arn = kms_key.arn;
  u.initiated = clock_.Now();
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{BucketKey(bucket), b.revision});
  txn.compares.push_back(storage::Compare{UploadKey(bucket, u.upload_id), 0});
  txn.writes.push_back(storage::Write::Put(UploadKey(bucket, u.upload_id), EncodeUpload(u)));
  auto rev = backend_.Commit(txn);
  if (!rev && rev.error().code == ErrorCode::kAborted) {
    return ConcurrentUpdates("bucket " + std::string(bucket));
  }
  if (!rev) return std::unexpected(std::move(rev).error());
  return u;
}

Result<Upload> ObjectStore::GetUpload(std::string_view bucket, std::string_view key,
                                      std::string_view upload_id) {
  COFFER_RETURN_IF_ERROR(CheckBucket(bucket));
  if (upload_id.empty() || upload_id.size() > 128 ||
      upload_id.find('/') != std::string_view::npos) {
    return NoSuchUpload();
  }
  COFFER_ASSIGN_OR_RETURN(auto stored,
                          GetRecord<Upload>(backend_, UploadKey(bucket, upload_id), DecodeUpload));
  if (!stored || stored->value.key != key) return NoSuchUpload();
  stored->value.upload_id = std::string(upload_id);
  stored->value.bucket = std::string(bucket);
  return std::move(stored->value);
}

Result<std::string> ObjectStore::UploadPart(std::string_view bucket, std::string_view key,
                                            std::string_view upload_id, int number,
                                            std::string_view data) {
  if (number < 1 || number > kMaxPartNumber) {
    return Fail(ErrorCode::kInvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
                Reason::kInvalidS3Request);
  }
  if (data.size() > options_.max_object_bytes) return TooLarge(options_.max_object_bytes);
  COFFER_ASSIGN_OR_RETURN(Upload upload, GetUpload(bucket, key, upload_id));
  uint32_t part = static_cast<uint32_t>(number);
  PartInfo info;
  info.number = part;
  info.size = data.size();
  info.etag = Md5Hex(data);
  info.modified = clock_.Now();
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Write> chunks,
                          SealChunks(bucket, key, upload_id, part, upload.kms_key_id, data));
  std::string part_key = PartKey(upload_id, part);
  std::string upload_key = UploadKey(bucket, upload_id);
  std::string encoded = EncodePart(info);
  COFFER_RETURN_IF_ERROR(CommitWithRetry(
      backend_, "upload part", [&]() -> Result<std::optional<storage::Txn>> {
        COFFER_ASSIGN_OR_RETURN(auto up, GetOptional(backend_, upload_key));
        if (!up) return NoSuchUpload();
        COFFER_ASSIGN_OR_RETURN(auto old, GetRecord<PartInfo>(backend_, part_key, DecodePart));
        storage::Txn txn;
        txn.compares.push_back(storage::Compare{upload_key, up->mod_revision});
        txn.compares.push_back(storage::Compare{part_key, old ? old->revision : 0});
        if (old) {
          for (uint64_t c = ChunkCount(info.size); c < ChunkCount(old->value.size); ++c) {
            txn.writes.push_back(storage::Write::Delete(ChunkKey(upload_id, part, c)));
          }
        }
        txn.writes.insert(txn.writes.end(), chunks.begin(), chunks.end());
        txn.writes.push_back(storage::Write::Put(part_key, encoded));
        return std::optional<storage::Txn>(std::move(txn));
      }));
  return info.etag;
}

Result<std::vector<PartInfo>> ObjectStore::ListParts(std::string_view bucket,
                                                     std::string_view key,
                                                     std::string_view upload_id) {
  COFFER_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id));
  COFFER_ASSIGN_OR_RETURN(auto records,
                          ScanRecords<PartInfo>(backend_, PartPrefix(upload_id), DecodePart));
  std::vector<PartInfo> out;
  for (auto& [number, stored] : records) {
    stored.value.number = ParsePartNumber(number);
    out.push_back(std::move(stored.value));
  }
  return out;
}

Result<ObjectInfo> ObjectStore::CompleteUpload(
    std::string_view bucket, std::string_view key, std::string_view upload_id,
    const std::vector<std::pair<int, std::string>>& parts) {
  if (parts.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "The XML you provided was not well-formed or did not validate against our "
                "published schema",
                Reason::kMalformedXml);
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].first <= parts[i - 1].first) {
      return Fail(ErrorCode::kInvalidArgument,
                  "The list of parts was not in ascending order. The parts list must be "
                  "specified in order of the part number.",
                  Reason::kInvalidPartOrder);
    }
  }
  std::string upload_key = UploadKey(bucket, upload_id);
  ObjectInfo object;
  COFFER_RETURN_IF_ERROR(CommitWithRetry(
      backend_, "upload", [&]() -> Result<std::optional<storage::Txn>> {
        COFFER_ASSIGN_OR_RETURN(Bucket b, GetBucket(bucket));
        COFFER_ASSIGN_OR_RETURN(auto up, GetRecord<Upload>(backend_, upload_key, DecodeUpload));
        if (!up || up->value.key != key) return NoSuchUpload();
        COFFER_ASSIGN_OR_RETURN(
            auto stored, ScanRecords<PartInfo>(backend_, PartPrefix(upload_id), DecodePart));
        std::map<uint32_t, Stored<PartInfo>> uploaded;
        for (auto& [number, s] : stored) {
          uploaded.emplace(ParsePartNumber(number), std::move(s));
        }
        storage::Txn txn;
        txn.compares.push_back(storage::Compare{BucketKey(bucket), b.revision});
        txn.compares.push_back(storage::Compare{upload_key, up->revision});
        object = ObjectInfo{};
        object.bucket = std::string(bucket);
        object.key = std::string(key);
        std::string md5s;
        for (size_t i = 0; i < parts.size(); ++i) {
          auto [number, etag] = parts[i];
          if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
            etag = etag.substr(1, etag.size() - 2);
          }
          auto it = number >= 1 ? uploaded.find(static_cast<uint32_t>(number)) : uploaded.end();
          if (it == uploaded.end() || it->second.value.etag != etag) {
            return Fail(ErrorCode::kInvalidArgument,
                        "One or more of the specified parts could not be found.  The part may not "
                        "have been uploaded, or the specified entity tag may not match the "
                        "part's entity tag.",
                        Reason::kInvalidPart);
          }
          const PartInfo& p = it->second.value;
          if (i + 1 < parts.size() && p.size < kMinPartBytes) {
            return Fail(ErrorCode::kInvalidArgument,
                        "Your proposed upload is smaller than the minimum allowed size",
                        Reason::kEntityTooSmall);
          }
          txn.compares.push_back(storage::Compare{PartKey(upload_id, it->first),
                                                  it->second.revision});
          object.parts.push_back(PartExtent{it->first, p.size});
          object.size += p.size;
          COFFER_ASSIGN_OR_RETURN(std::string md5, util::HexDecode(p.etag));
          md5s += md5;
        }
        if (object.size > options_.max_object_bytes) return TooLarge(options_.max_object_bytes);
        object.etag = Md5Hex(md5s) + "-" + std::to_string(parts.size());
        object.content_type = up->value.content_type;
        object.metadata = up->value.metadata;
        object.kms_key_id = up->value.kms_key_id;
        object.kms_key_arn = up->value.kms_key_arn;
        object.modified = clock_.Now();
        object.data_id = std::string(upload_id);
        // Parts not named are dropped with their data; the upload's records go.
        for (const auto& [number, s] : uploaded) {
          bool used = std::any_of(object.parts.begin(), object.parts.end(),
                                  [&](const PartExtent& e) { return e.number == number; });
          if (!used) {
            for (uint64_t c = 0; c < ChunkCount(s.value.size); ++c) {
              txn.writes.push_back(storage::Write::Delete(ChunkKey(upload_id, number, c)));
            }
          }
          txn.writes.push_back(storage::Write::Delete(PartKey(upload_id, number)));
        }
        txn.writes.push_back(storage::Write::Delete(upload_key));
        std::string object_key = ObjectKey(bucket, key);
        COFFER_ASSIGN_OR_RETURN(auto old, GetRecord<ObjectInfo>(backend_, object_key, DecodeObject));
        txn.compares.push_back(storage::Compare{object_key, old ? old->revision : 0});
        if (old) DeleteChunks(old->value, txn.writes);
        txn.writes.push_back(storage::Write::Put(object_key, EncodeObject(object)));
        return std::optional<storage::Txn>(std::move(txn));
      }));
  return object;
}

Result<std::vector<Upload>> ObjectStore::ListUploads(std::string_view bucket,
                                                     std::string_view prefix) {
  COFFER_RETURN_IF_ERROR(CheckBucket(bucket));
  COFFER_ASSIGN_OR_RETURN(auto records,
                          ScanRecords<Upload>(backend_, UploadPrefix(bucket), DecodeUpload));
  std::vector<Upload> out;
  for (auto& [upload_id, stored] : records) {
    if (!stored.value.key.starts_with(prefix)) continue;
    stored.value.upload_id = upload_id;
    stored.value.bucket = std::string(bucket);
    out.push_back(std::move(stored.value));
  }
  std::sort(out.begin(), out.end(), [](const Upload& a, const Upload& b) {
    return std::tie(a.key, a.upload_id) < std::tie(b.key, b.upload_id);
  });
  if (out.size() > static_cast<size_t>(kMaxListKeys)) out.resize(kMaxListKeys);
  return out;
}

Status ObjectStore::AbortUpload(std::string_view bucket, std::string_view key,
                                std::string_view upload_id) {
  std::string upload_key = UploadKey(bucket, upload_id);
  COFFER_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id));
  COFFER_RETURN_IF_ERROR(CommitWithRetry(
      backend_, "upload", [&]() -> Result<std::optional<storage::Txn>> {
        COFFER_ASSIGN_OR_RETURN(auto up, GetOptional(backend_, upload_key));
        if (!up) return NoSuchUpload();
        COFFER_ASSIGN_OR_RETURN(
            auto stored, ScanRecords<PartInfo>(backend_, PartPrefix(upload_id), DecodePart));
        storage::Txn txn;
        txn.compares.push_back(storage::Compare{upload_key, up->mod_revision});
        for (const auto& [number, s] : stored) {
          uint32_t n = ParsePartNumber(number);
          txn.compares.push_back(storage::Compare{PartKey(upload_id, n), s.revision});
          for (uint64_t c = 0; c < ChunkCount(s.value.size); ++c) {
            txn.writes.push_back(storage::Write::Delete(ChunkKey(upload_id, n, c)));
          }
          txn.writes.push_back(storage::Write::Delete(PartKey(upload_id, n)));
        }
        txn.writes.push_back(storage::Write::Delete(upload_key));
        return std::optional<storage::Txn>(std::move(txn));
      }));
  return Ok();
}

}  // namespace coffer::domain::s3
