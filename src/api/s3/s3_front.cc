#include "api/s3/s3_front.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "api/s3/payload.h"
#include "api/s3/xml.h"
#include "auth/policy.h"
#include "domain/arn.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::api::s3 {
namespace {

namespace ds3 = domain::s3;

constexpr std::string_view kXmlns = "http://s3.amazonaws.com/doc/2006-03-01/";
constexpr std::string_view kXmlHeader = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
constexpr size_t kMaxDeleteObjects = 1000;

enum class Op {
  kUnknown,
  kListBuckets,
  kCreateBucket,
  kHeadBucket,
  kDeleteBucket,
  kGetBucketLocation,
  kPutBucketPolicy,
  kGetBucketPolicy,
  kDeleteBucketPolicy,
  kListObjects,
  kListObjectsV2,
  kDeleteObjects,
  kPutObject,
  kCopyObject,
  kGetObject,
  kHeadObject,
  kDeleteObject,
  kCreateMultipartUpload,
  kUploadPart,
  kCompleteMultipartUpload,
  kAbortMultipartUpload,
  kListParts,
  kListMultipartUploads,
};

struct OpInfo {
  std::string_view name;    // the operation's name (metrics, audit)
  std::string_view action;  // its IAM action
};

OpInfo Info(Op op) {
  switch (op) {
    case Op::kListBuckets: return {"ListBuckets", "s3:ListAllMyBuckets"};
    case Op::kCreateBucket: return {"CreateBucket", "s3:CreateBucket"};
    case Op::kHeadBucket: return {"HeadBucket", "s3:ListBucket"};
    case Op::kDeleteBucket: return {"DeleteBucket", "s3:DeleteBucket"};
    case Op::kGetBucketLocation: return {"GetBucketLocation", "s3:GetBucketLocation"};
    case Op::kPutBucketPolicy: return {"PutBucketPolicy", "s3:PutBucketPolicy"};
    case Op::kGetBucketPolicy: return {"GetBucketPolicy", "s3:GetBucketPolicy"};
    case Op::kDeleteBucketPolicy: return {"DeleteBucketPolicy", "s3:DeleteBucketPolicy"};
    case Op::kListObjects: return {"ListObjects", "s3:ListBucket"};
    case Op::kListObjectsV2: return {"ListObjectsV2", "s3:ListBucket"};
    case Op::kDeleteObjects: return {"DeleteObjects", "s3:DeleteObject"};
    case Op::kPutObject: return {"PutObject", "s3:PutObject"};
    case Op::kCopyObject: return {"CopyObject", "s3:PutObject"};
    case Op::kGetObject: return {"GetObject", "s3:GetObject"};
    case Op::kHeadObject: return {"HeadObject", "s3:GetObject"};
    case Op::kDeleteObject: return {"DeleteObject", "s3:DeleteObject"};
    case Op::kCreateMultipartUpload: return {"CreateMultipartUpload", "s3:PutObject"};
    case Op::kUploadPart: return {"UploadPart", "s3:PutObject"};
    case Op::kCompleteMultipartUpload: return {"CompleteMultipartUpload", "s3:PutObject"};
    case Op::kAbortMultipartUpload: return {"AbortMultipartUpload", "s3:AbortMultipartUpload"};
    case Op::kListParts: return {"ListParts", "s3:ListMultipartUploadParts"};
    case Op::kListMultipartUploads:
      return {"ListMultipartUploads", "s3:ListBucketMultipartUploads"};
    case Op::kUnknown: break;
  }
  return {"unknown", ""};
}

// Sub-resources this front does not serve: 501 NotImplemented, never
// silently answered as another operation.
constexpr std::string_view kUnsupportedSubresources[] = {
    "accelerate", "acl", "analytics", "attributes", "cors", "encryption", "intelligent-tiering",
    "inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification",
    "object-lock", "ownershipControls", "policyStatus", "publicAccessBlock", "replication",
    "requestPayment", "restore", "retention", "select", "tagging", "torrent", "versioning",
    "versions", "website", "versionId", "renameObject"};

// --- the one error table of the S3 protocol -------------------------------

struct WireError {
  std::string_view code;
  int status;
  bool mapped = true;
};

WireError MapError(const Error& e) {
  switch (e.reason) {
    case Reason::kNoSuchBucket: return {"NoSuchBucket", 404};
    case Reason::kNoSuchKey: return {"NoSuchKey", 404};
    case Reason::kNoSuchUpload: return {"NoSuchUpload", 404};
    case Reason::kNoSuchBucketPolicy: return {"NoSuchBucketPolicy", 404};
    case Reason::kBucketAlreadyOwnedByYou: return {"BucketAlreadyOwnedByYou", 409};
    case Reason::kBucketNotEmpty: return {"BucketNotEmpty", 409};
    case Reason::kInvalidBucketName: return {"InvalidBucketName", 400};
    case Reason::kEntityTooLarge: return {"EntityTooLarge", 400};
    case Reason::kEntityTooSmall: return {"EntityTooSmall", 400};
    case Reason::kInvalidPart: return {"InvalidPart", 400};
    case Reason::kInvalidPartOrder: return {"InvalidPartOrder", 400};
    case Reason::kInvalidRange: return {"InvalidRange", 416};
    case Reason::kInvalidDigest: return {"InvalidDigest", 400};
    case Reason::kBadDigest: return {"BadDigest", 400};
    case Reason::kMalformedXml: return {"MalformedXML", 400};
    case Reason::kMalformedPolicy: return {"MalformedPolicy", 400};
    case Reason::kInvalidS3Request: return {"InvalidRequest", 400};
    case Reason::kNotImplemented: return {"NotImplemented", 501};
    case Reason::kMalformedInput: return {"IncompleteBody", 400};
    case Reason::kValidation: return {"InvalidArgument", 400};
    case Reason::kAccessDenied: return {"AccessDenied", 403};
    case Reason::kMissingAuthenticationToken: return {"AccessDenied", 403};
    case Reason::kIncompleteSignature: return {"AuthorizationHeaderMalformed", 400};
    case Reason::kSignatureMismatch: return {"SignatureDoesNotMatch", 403};
    case Reason::kSignatureExpired:
      if (e.message == "Request has expired") return {"AccessDenied", 403};
      return {"RequestTimeTooSkewed", 403};
    case Reason::kSignatureNotYetCurrent: return {"RequestTimeTooSkewed", 403};
    case Reason::kUnknownAccessKey: return {"InvalidAccessKeyId", 403};
    case Reason::kInvalidSecurityToken: return {"InvalidToken", 400};
    case Reason::kExpiredSecurityToken: return {"ExpiredToken", 400};
    case Reason::kInvalidKeyId:
    case Reason::kKeyNotFound: return {"KMS.NotFoundException", 400};
    case Reason::kKeyDisabled: return {"KMS.DisabledException", 400};
    case Reason::kKmsInvalidState: return {"KMS.KMSInvalidStateException", 400};
    case Reason::kTooManyUpdates: return {"OperationAborted", 409};
    case Reason::kPreconditionFailed: return {"PreconditionFailed", 412};
    default: break;
  }
  switch (e.code) {
    case ErrorCode::kInvalidArgument: return {"InvalidArgument", 400};
    case ErrorCode::kNotFound: return {"NoSuchKey", 404};
    case ErrorCode::kPermissionDenied: return {"AccessDenied", 403};
    case ErrorCode::kUnauthenticated: return {"AccessDenied", 403};
    case ErrorCode::kAborted: return {"OperationAborted", 409};
    case ErrorCode::kUnavailable: return {"ServiceUnavailable", 503};
    case ErrorCode::kInternal:
    case ErrorCode::kDataLoss: return {"InternalError", 500};
    default: return {"InternalError", 500, false};
  }
}

// --- small helpers -----------------------------------------------------------

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string Quoted(std::string_view etag) { return "\"" + std::string(etag) + "\""; }

std::unexpected<Error> NotImplemented() {
  return Fail(ErrorCode::kInvalidArgument,
              "A header or query you provided implies functionality that is not implemented.",
              Reason::kNotImplemented);
}

std::unexpected<Error> InvalidRequest(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kInvalidS3Request);
}

std::string IsoMillis(util::SystemTime t) { return util::FormatIso8601Millis(t); }

// Parses a decimal integer of at most 10 digits; nullopt otherwise.
std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// --- the exchange ---------------------------------------------------------

class S3Exchange final : public pipeline::Exchange {
 public:
  S3Exchange(const HttpRequest& request, ds3::ObjectStore& store, const S3FrontOptions& options,
             auth::PolicyCache& policies)
      : request_(request), store_(store), options_(options), policies_(policies) {}

  std::string_view api() const override { return "s3"; }
  std::string_view operation() const override { return Info(op_).name; }
  std::string_view signing_name() const override { return "s3"; }
  bool Unsigned() const override { return false; }
  auth::PayloadSigning payload_signing() const override {
    return auth::PayloadSigning::kAllowUnsigned;
  }

  Status Route() override {
    COFFER_RETURN_IF_ERROR(ParseAddress());
    COFFER_RETURN_IF_ERROR(ParseQuery());
    op_ = Choose();
    return Ok();
  }

  Status Decode() override {
    if (op_ == Op::kUnknown) return NotImplemented();
    if (!bucket_.empty() && op_ != Op::kCreateBucket) {
      // A name that cannot be a bucket names none.
      if (!ds3::ObjectStore::ValidateBucketName(bucket_)) {
        return Fail(ErrorCode::kNotFound, "The specified bucket does not exist",
                    Reason::kNoSuchBucket);
      }
    }
    if (has_key_) COFFER_RETURN_IF_ERROR(ds3::ObjectStore::ValidateKey(key_));
    return Ok();
  }

  Result<pipeline::Accesses> Resolve(const auth::Authenticated*,
                                     auth::RequestAuthorization&) override {
    pipeline::Accesses out;
    std::string_view action = Info(op_).action;
    switch (op_) {
      case Op::kListBuckets:
        out.push_back(Plain(action, "*"));
        break;
      case Op::kCreateBucket:
        out.push_back(Plain(action, domain::S3BucketArn(bucket_)));
        break;
      case Op::kListObjects:
      case Op::kListObjectsV2:
      case Op::kHeadBucket: {
        auth::KeyMap keys;
        if (op_ != Op::kHeadBucket) {
          keys["s3:prefix"] = {Param("prefix")};
          if (HasParam("delimiter")) keys["s3:delimiter"] = {Param("delimiter")};
          if (HasParam("max-keys")) keys["s3:max-keys"] = {Param("max-keys")};
        }
        COFFER_ASSIGN_OR_RETURN(auto access,
                                OnBucket(action, domain::S3BucketArn(bucket_), std::move(keys)));
        out.push_back(std::move(access));
        break;
      }
      case Op::kDeleteBucket:
      case Op::kListMultipartUploads:
      case Op::kGetBucketLocation:
      case Op::kPutBucketPolicy:
      case Op::kGetBucketPolicy:
      case Op::kDeleteBucketPolicy: {
        COFFER_ASSIGN_OR_RETURN(auto access, OnBucket(action, domain::S3BucketArn(bucket_)));
        out.push_back(std::move(access));
        break;
      }
      case Op::kDeleteObjects: {
        // Each key is authorized by the handler (its refusal is reported
        // per key, as S3 does).
        pipeline::Access access;
        access.input = bucket_;
        access.resource.arn = domain::S3BucketArn(bucket_);
        out.push_back(std::move(access));
        break;
      }
      case Op::kCopyObject: {
        COFFER_ASSIGN_OR_RETURN(auto dst, OnBucket(action, domain::S3ObjectArn(bucket_, key_)));
        out.push_back(std::move(dst));
        COFFER_RETURN_IF_ERROR(ParseCopySource());
        COFFER_ASSIGN_OR_RETURN(auto src, OnBucket("s3:GetObject",
                                                   domain::S3ObjectArn(src_bucket_, src_key_),
                                                   {}, src_bucket_));
        out.push_back(std::move(src));
        break;
      }
      default: {
        COFFER_ASSIGN_OR_RETURN(auto access,
                                OnBucket(action, domain::S3ObjectArn(bucket_, key_)));
        out.push_back(std::move(access));
        break;
      }
    }
    return out;
  }

  Status Handle(pipeline::CallContext& context) override {
    switch (op_) {
      case Op::kListBuckets: return ListBuckets();
      case Op::kCreateBucket: return CreateBucket();
      case Op::kHeadBucket: return HeadBucket();
      case Op::kDeleteBucket: return DeleteBucket();
      case Op::kGetBucketLocation: return GetBucketLocation();
      case Op::kPutBucketPolicy: return PutBucketPolicy(context);
      case Op::kGetBucketPolicy: return GetBucketPolicy();
      case Op::kDeleteBucketPolicy: return DeleteBucketPolicy();
      case Op::kListObjects:
      case Op::kListObjectsV2: return ListObjects();
      case Op::kDeleteObjects: return DeleteObjects(context);
      case Op::kPutObject: return PutObject(context);
      case Op::kCopyObject: return CopyObject();
      case Op::kGetObject: return GetObject(false);
      case Op::kHeadObject: return GetObject(true);
      case Op::kDeleteObject: return DeleteObject();
      case Op::kCreateMultipartUpload: return CreateMultipartUpload();
      case Op::kUploadPart: return UploadPart(context);
      case Op::kCompleteMultipartUpload: return CompleteMultipartUpload(context);
      case Op::kAbortMultipartUpload: return AbortMultipartUpload();
      case Op::kListParts: return ListParts();
      case Op::kListMultipartUploads: return ListMultipartUploads();
      case Op::kUnknown: break;
    }
    return NotImplemented();
  }

  std::vector<std::string> ValueIds() const override { return value_ids_; }

  HttpResponse Render() override {
    response_.SetHeader("x-amz-request-id", request_.request_id);
    return std::move(response_);
  }

  pipeline::RenderedError RenderError(const Error& error) override {
    WireError wire = MapError(error);
    pipeline::RenderedError out;
    out.code = wire.code;
    out.mapped = wire.mapped;
    HttpResponse& r = out.response;
    r.status = wire.status;
    r.SetHeader("x-amz-request-id", request_.request_id);
    if (request_.method == "HEAD") return out;  // S3 answers HEAD errors without a body
    r.SetHeader("Content-Type", "application/xml");
    Xml xml;
    xml.Raw(kXmlHeader).Open("Error").Element("Code", wire.code).Element("Message", error.message);
    // What the caller sent is echoed at most kMaxEcho bytes long.
    constexpr size_t kMaxEcho = 1100;
    if (error.reason == Reason::kNoSuchKey && has_key_) {
      xml.Element("Key", std::string_view(key_).substr(0, kMaxEcho));
    }
    if ((error.reason == Reason::kNoSuchBucket || error.reason == Reason::kBucketNotEmpty ||
         error.reason == Reason::kBucketAlreadyOwnedByYou ||
         error.reason == Reason::kNoSuchBucketPolicy) &&
        !bucket_.empty()) {
      xml.Element("BucketName", std::string_view(bucket_).substr(0, kMaxEcho));
    }
    if (error.reason == Reason::kNoSuchUpload) {
      xml.Element("UploadId", Param("uploadId").substr(0, kMaxEcho));
    }
    xml.Element("Resource", std::string_view(resource_path_).substr(0, kMaxEcho));
    xml.Element("RequestId", request_.request_id);
    xml.Close("Error");
    r.body = xml.str();
    return out;
  }

 private:
  // --- routing -------------------------------------------------------------

  Status ParseAddress() {
    std::string_view host = request_.Header("Host");
    if (size_t colon = host.rfind(':');
        colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
      host = host.substr(0, colon);
    }
    std::string lower_host = LowerString(host);
    std::string_view path = request_.path;
    std::string virtual_bucket;
    for (const std::string& domain : options_.virtual_host_domains) {
      if (lower_host.size() > domain.size() + 1 && lower_host.ends_with(domain) &&
          lower_host[lower_host.size() - domain.size() - 1] == '.') {
        virtual_bucket = lower_host.substr(0, lower_host.size() - domain.size() - 1);
        break;
      }
    }
    auto decode = [](std::string_view raw) -> Result<std::string> {
      auto decoded = util::UriDecode(raw);
      if (!decoded) return InvalidRequest("The request path has a broken %-escape.");
      return decoded;
    };
    if (!path.starts_with("/")) return InvalidRequest("The request path must start with '/'.");
    path.remove_prefix(1);
    if (!virtual_bucket.empty()) {
      bucket_ = virtual_bucket;
      if (!path.empty()) {
        COFFER_ASSIGN_OR_RETURN(key_, decode(path));
        has_key_ = true;
      }
    } else if (!path.empty()) {
      size_t slash = path.find('/');
      COFFER_ASSIGN_OR_RETURN(bucket_, decode(path.substr(0, slash)));
      if (slash != std::string_view::npos && slash + 1 < path.size()) {
        COFFER_ASSIGN_OR_RETURN(key_, decode(path.substr(slash + 1)));
        has_key_ = true;
      }
    }
    resource_path_ = "/" + bucket_ + (has_key_ ? "/" + key_ : "");
    return Ok();
  }

  Status ParseQuery() {
    for (std::string_view rest = request_.query; !rest.empty();) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      auto key = util::UriDecode(pair.substr(0, eq));
      auto value = util::UriDecode(eq == std::string_view::npos ? std::string_view()
                                                                : pair.substr(eq + 1));
      if (!key || !value) return InvalidRequest("The query string has a broken %-escape.");
      if (params_.contains(*key)) {
        return InvalidRequest("The query parameter " + key->substr(0, 64) + " is repeated.");
      }
      params_.emplace(std::move(*key), std::move(*value));
    }
    return Ok();
  }

  bool HasParam(std::string_view name) const { return params_.find(name) != params_.end(); }
  std::string Param(std::string_view name) const {
    auto it = params_.find(name);
    return it == params_.end() ? std::string() : it->second;
  }

  Op Choose() const {
    for (std::string_view sub : kUnsupportedSubresources) {
      if (HasParam(sub)) return Op::kUnknown;
    }
    const std::string& m = request_.method;
    if (bucket_.empty()) return m == "GET" ? Op::kListBuckets : Op::kUnknown;
    if (!has_key_) {
      if (HasParam("policy")) {
        return m == "PUT"      ? Op::kPutBucketPolicy
               : m == "GET"    ? Op::kGetBucketPolicy
               : m == "DELETE" ? Op::kDeleteBucketPolicy
                               : Op::kUnknown;
      }
      if (HasParam("location")) return m == "GET" ? Op::kGetBucketLocation : Op::kUnknown;
      if (HasParam("delete")) return m == "POST" ? Op::kDeleteObjects : Op::kUnknown;
      if (HasParam("uploads")) return m == "GET" ? Op::kListMultipartUploads : Op::kUnknown;
      if (m == "PUT") return Op::kCreateBucket;
      if (m == "HEAD") return Op::kHeadBucket;
      if (m == "DELETE") return Op::kDeleteBucket;
      if (m == "GET") return Param("list-type") == "2" ? Op::kListObjectsV2 : Op::kListObjects;
      return Op::kUnknown;
    }
    bool copy = request_.HasHeader("x-amz-copy-source");
    if (HasParam("uploads")) return m == "POST" ? Op::kCreateMultipartUpload : Op::kUnknown;
    if (HasParam("uploadId")) {
      if (m == "PUT") return HasParam("partNumber") && !copy ? Op::kUploadPart : Op::kUnknown;
      if (m == "POST") return Op::kCompleteMultipartUpload;
      if (m == "DELETE") return Op::kAbortMultipartUpload;
      if (m == "GET") return Op::kListParts;
      return Op::kUnknown;
    }
    if (HasParam("partNumber")) return Op::kUnknown;  // GetObject by part
    if (m == "PUT") return copy ? Op::kCopyObject : Op::kPutObject;
    if (m == "GET") return Op::kGetObject;
    if (m == "HEAD") return Op::kHeadObject;
    if (m == "DELETE") return Op::kDeleteObject;
    return Op::kUnknown;
  }

  Status ParseCopySource() {
    std::string_view raw = request_.Header("x-amz-copy-source");
    size_t q = raw.find('?');
    if (q != std::string_view::npos) {
      return NotImplemented();  // a versionId: versioning is not served
    }
    auto decoded = util::UriDecode(raw);
    if (!decoded) return InvalidRequest("Invalid copy source encoding");
    std::string_view source = *decoded;
    if (source.starts_with("/")) source.remove_prefix(1);
    size_t slash = source.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == source.size()) {
      return InvalidRequest("Invalid copy source object key");
    }
    src_bucket_ = std::string(source.substr(0, slash));
    src_key_ = std::string(source.substr(slash + 1));
    if (!ds3::ObjectStore::ValidateBucketName(src_bucket_)) {
      return Fail(ErrorCode::kNotFound, "The specified bucket does not exist",
                  Reason::kNoSuchBucket);
    }
    return ds3::ObjectStore::ValidateKey(src_key_);
  }

  // --- authorization -------------------------------------------------------

  static pipeline::Access Plain(std::string_view action, std::string resource) {
    pipeline::Access access;
    access.input = resource;
    access.resource.arn = resource;
    access.permission = auth::Permission{std::string(action), std::move(resource), {}, nullptr,
                                         auth::Permission::PolicyRole::kNone};
    return access;
  }

  // The permission `action` on `resource`, under the bucket's policy when it
  // has one (identity OR bucket policy allows, and neither denies).
  Result<auth::Permission> PermissionOn(std::string_view action, std::string resource,
                                        auth::KeyMap keys, std::string_view bucket) {
    auth::Permission p{std::string(action), std::move(resource), std::move(keys), nullptr,
                       auth::Permission::PolicyRole::kNone};
    auto b = store_.GetBucket(bucket);
    if (!b) {
      if (b.error().code == ErrorCode::kNotFound) return p;  // decided on identity alone
      return std::unexpected(std::move(b).error());
    }
    if (!b->policy.empty()) {
      std::string arn = domain::S3BucketArn(bucket);
      p.policy = policies_.Find(arn, static_cast<uint64_t>(b->revision));
      if (!p.policy) {
        p.policy = policies_.Get(arn, static_cast<uint64_t>(b->revision),
                                 {{"bucket/" + std::string(bucket) + "/policy", b->policy}});
      }
      p.role = auth::Permission::PolicyRole::kResource;
    }
    return p;
  }

  Result<pipeline::Access> OnBucket(std::string_view action, std::string resource,
                                    auth::KeyMap keys = {}, std::string_view bucket = {}) {
    if (bucket.empty()) bucket = bucket_;
    pipeline::Access access;
    access.input = resource;
    access.resource.arn = resource;
    COFFER_ASSIGN_OR_RETURN(auto p, PermissionOn(action, std::move(resource), std::move(keys),
                                                 bucket));
    access.permission = std::move(p);
    return access;
  }

  // --- the payload ---------------------------------------------------------

  // The request's data, decoded from its framing and checked against every
  // digest it carries. Nothing is stored before this succeeds.
  Status DecodeBody(const auth::Authenticated* caller) {
    std::string_view sha = request_.Header("x-amz-content-sha256");
    std::string_view announced_trailer = request_.Header("x-amz-trailer");
    Trailer trailer;
    if (sha.starts_with("STREAMING-")) {
      bool signed_chunks = sha == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" ||
                           sha == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
      if (!signed_chunks && sha != "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
        return InvalidRequest("The x-amz-content-sha256 value is not supported.");
      }
      const auth::ChunkSigning* signing = nullptr;
      if (signed_chunks) {
        if (caller == nullptr || !caller->chunk_signing) {
          return Fail(ErrorCode::kUnauthenticated, "The chunk signatures cannot be verified.",
                      Reason::kSignatureMismatch);
        }
        signing = &*caller->chunk_signing;
      }
      COFFER_ASSIGN_OR_RETURN(
          DecodedChunks decoded,
          DecodeAwsChunked(request_.body, signing,
                           sha == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"));
      owned_data_ = std::move(decoded.data);
      data_ = owned_data_;
      trailer = std::move(decoded.trailer);
      std::string_view declared = request_.Header("x-amz-decoded-content-length");
      if (!declared.empty()) {
        auto n = ParseInt(declared);
        if (!n || static_cast<uint64_t>(*n) != data_.size()) {
          return Fail(ErrorCode::kInvalidArgument,
                      "You did not provide the number of bytes specified by the "
                      "x-amz-decoded-content-length header.",
                      Reason::kMalformedInput);
        }
      }
    } else {
      data_ = request_.body;
    }
    // A trailer the headers announced must be there, and only checksums may be.
    if (!announced_trailer.empty()) {
      std::string name = LowerString(announced_trailer);
      bool found = std::any_of(trailer.begin(), trailer.end(),
                               [&](const auto& t) { return t.first == name; });
      if (!found) {
        return Fail(ErrorCode::kInvalidArgument,
                    "The trailing checksum named by x-amz-trailer is missing.",
                    Reason::kMalformedInput);
      }
    }
    for (const auto& [name, value] : trailer) {
      if (!name.starts_with("x-amz-checksum-")) {
        return InvalidRequest("Only x-amz-checksum-* headers may trail a payload.");
      }
      COFFER_RETURN_IF_ERROR(VerifyChecksum(name, value, data_));
    }
    for (const auto& [name, value] : request_.headers) {
      if (IEquals(name, "content-md5")) {
        COFFER_RETURN_IF_ERROR(VerifyChecksum("content-md5", value, data_));
      } else if (name.size() > 15 && IEquals(name.substr(0, 15), "x-amz-checksum-")) {
        std::string lower = LowerString(name);
        if (lower == "x-amz-checksum-algorithm" || lower == "x-amz-checksum-type" ||
            lower == "x-amz-checksum-mode") {
          continue;
        }
        COFFER_RETURN_IF_ERROR(VerifyChecksum(lower, value, data_));
      }
    }
    return Ok();
  }

  // Content-Type, x-amz-meta-* and the SSE-KMS headers of a write.
  Result<ds3::ObjectAttributes> Attributes() const {
    ds3::ObjectAttributes a;
    a.content_type = std::string(request_.Header("Content-Type"));
    size_t metadata_bytes = 0;
    for (const auto& [name, value] : request_.headers) {
      if (name.size() > 11 && IEquals(name.substr(0, 11), "x-amz-meta-")) {
        std::string key = LowerString(name.substr(11));
        metadata_bytes += key.size() + value.size();
        a.metadata[key] = value;
      }
    }
    if (metadata_bytes > ds3::kMaxMetadataBytes) {
      return Fail(ErrorCode::kInvalidArgument,
                  "Your metadata headers exceed the maximum allowed metadata size.",
                  Reason::kValidation);
    }
    COFFER_ASSIGN_OR_RETURN(a.kms_key, KmsKey());
    return a;
  }

  Result<std::optional<std::string>> KmsKey() const {
    std::string_view sse = request_.Header("x-amz-server-side-encryption");
    std::string_view key = request_.Header("x-amz-server-side-encryption-aws-kms-key-id");
    if (!sse.empty() && sse != "aws:kms" && sse != "AES256") {
      return InvalidRequest("The encryption method specified is not supported");
    }
    if (!key.empty() && sse != "aws:kms") {
      return InvalidRequest(
          "Specifying the KMS key id requires x-amz-server-side-encryption: aws:kms");
    }
    if (key.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::string(key));
  }

  void SetXml(std::string body, int status = 200) {
    response_.status = status;
    response_.SetHeader("Content-Type", "application/xml");
    response_.body = std::move(body);
  }

  void SetSse(std::string_view key_arn) {
    response_.SetHeader("x-amz-server-side-encryption", "aws:kms");
    response_.SetHeader("x-amz-server-side-encryption-aws-kms-key-id", std::string(key_arn));
  }

  // --- buckets ---------------------------------------------------------------

  Status ListBuckets() {
    COFFER_ASSIGN_OR_RETURN(std::vector<ds3::Bucket> buckets, store_.ListBuckets());
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<ListAllMyBucketsResult xmlns=\"").Raw(kXmlns).Raw("\">");
    xml.Open("Owner").Element("ID", "coffer").Element("DisplayName", "coffer").Close("Owner");
    xml.Open("Buckets");
    for (const ds3::Bucket& b : buckets) {
      xml.Open("Bucket").Element("Name", b.name).Element("CreationDate", IsoMillis(b.created));
      xml.Close("Bucket");
    }
    xml.Close("Buckets").Close("ListAllMyBucketsResult");
    SetXml(xml.str());
    return Ok();
  }

  Status CreateBucket() {
    COFFER_RETURN_IF_ERROR(store_.CreateBucket(bucket_));
    response_.SetHeader("Location", "/" + bucket_);
    return Ok();
  }

  Status HeadBucket() {
    COFFER_RETURN_IF_ERROR(store_.GetBucket(bucket_));
    response_.SetHeader("x-amz-bucket-region", "us-east-1");
    return Ok();
  }

  Status DeleteBucket() {
    COFFER_RETURN_IF_ERROR(store_.DeleteBucket(bucket_));
    response_.status = 204;
    return Ok();
  }

  Status GetBucketLocation() {
    COFFER_RETURN_IF_ERROR(store_.GetBucket(bucket_));
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<LocationConstraint xmlns=\"").Raw(kXmlns).Raw("\"/>");
    SetXml(xml.str());
    return Ok();
  }

  Status PutBucketPolicy(pipeline::CallContext& context) {
    COFFER_RETURN_IF_ERROR(DecodeBody(context.caller));
    if (data_.size() > ds3::kMaxPolicyBytes) {
      return Fail(ErrorCode::kInvalidArgument, "Policies must be no more than 20 KB",
                  Reason::kMalformedPolicy);
    }
    auto parsed = auth::ParseResourcePolicy(data_);
    if (!parsed) {
      return Fail(ErrorCode::kInvalidArgument,
                  "Policy has invalid resource or principal: " + parsed.error().message,
                  Reason::kMalformedPolicy);
    }
    COFFER_RETURN_IF_ERROR(store_.PutBucketPolicy(bucket_, data_));
    response_.status = 204;
    return Ok();
  }

  Status GetBucketPolicy() {
    COFFER_ASSIGN_OR_RETURN(ds3::Bucket b, store_.GetBucket(bucket_));
    if (b.policy.empty()) {
      return Fail(ErrorCode::kNotFound, "The bucket policy does not exist",
                  Reason::kNoSuchBucketPolicy);
    }
    response_.SetHeader("Content-Type", "application/json");
    response_.body = b.policy;
    return Ok();
  }

  Status DeleteBucketPolicy() {
    COFFER_RETURN_IF_ERROR(store_.DeleteBucketPolicy(bucket_));
    response_.status = 204;
    return Ok();
  }

  Status ListObjects() {
    bool v2 = op_ == Op::kListObjectsV2;
    bool url = Param("encoding-type") == "url";
    if (HasParam("encoding-type") && !url) {
      return Fail(ErrorCode::kInvalidArgument, "Invalid Encoding Method specified in Request",
                  Reason::kValidation);
    }
    ds3::ListRequest r;
    r.prefix = Param("prefix");
    r.delimiter = Param("delimiter");
    if (HasParam("max-keys")) {
      auto n = ParseInt(Param("max-keys"));
      if (!n) {
        return Fail(ErrorCode::kInvalidArgument, "Provided max-keys not an integer or within "
                    "integer range", Reason::kValidation);
      }
      r.max_keys = static_cast<int>(std::min<int64_t>(*n, ds3::kMaxListKeys));
    }
    std::string token;
    if (v2) {
      r.start_after = Param("start-after");
      if (HasParam("continuation-token")) {
        token = Param("continuation-token");
        auto decoded = util::Base64Decode(token);
        if (!decoded || token.empty()) {
          return Fail(ErrorCode::kInvalidArgument,
                      "The continuation token provided is incorrect", Reason::kValidation);
        }
        r.start_after = std::max(r.start_after, *decoded);
      }
    } else {
      r.start_after = Param("marker");
    }
    COFFER_ASSIGN_OR_RETURN(ds3::ListResult listed, store_.ListObjects(bucket_, r));
    auto enc = [&](std::string_view s) {
      return url ? util::UriEncode(s, /*keep_slash=*/true) : std::string(s);
    };
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<ListBucketResult xmlns=\"").Raw(kXmlns).Raw("\">");
    xml.Element("Name", bucket_).Element("Prefix", enc(r.prefix));
    if (v2) {
      if (HasParam("continuation-token")) xml.Element("ContinuationToken", token);
      if (HasParam("start-after")) xml.Element("StartAfter", enc(Param("start-after")));
      xml.Element("KeyCount",
                  std::to_string(listed.objects.size() + listed.common_prefixes.size()));
    } else {
      xml.Element("Marker", enc(Param("marker")));
    }
    xml.Element("MaxKeys", std::to_string(r.max_keys));
    if (!r.delimiter.empty()) xml.Element("Delimiter", enc(r.delimiter));
    if (url) xml.Element("EncodingType", "url");
    xml.Element("IsTruncated", listed.truncated ? "true" : "false");
    if (listed.truncated) {
      if (v2) {
        xml.Element("NextContinuationToken", util::Base64Encode(listed.last));
      } else if (!r.delimiter.empty()) {
        xml.Element("NextMarker", enc(listed.last));
      }
    }
    for (const ds3::ObjectInfo& o : listed.objects) {
      xml.Open("Contents").Element("Key", enc(o.key));
      xml.Element("LastModified", IsoMillis(o.modified)).Element("ETag", Quoted(o.etag));
      xml.Element("Size", std::to_string(o.size));
      if (!v2 || Param("fetch-owner") == "true") {
        xml.Open("Owner").Element("ID", "coffer").Element("DisplayName", "coffer").Close("Owner");
      }
      xml.Element("StorageClass", "STANDARD").Close("Contents");
    }
    for (const std::string& p : listed.common_prefixes) {
      xml.Open("CommonPrefixes").Element("Prefix", enc(p)).Close("CommonPrefixes");
    }
    xml.Close("ListBucketResult");
    SetXml(xml.str());
    return Ok();
  }

  Status DeleteObjects(pipeline::CallContext& context) {
    COFFER_RETURN_IF_ERROR(DecodeBody(context.caller));
    COFFER_ASSIGN_OR_RETURN(XmlElement root, ParseXml(data_));
    if (root.name != "Delete") return MalformedXml();
    bool quiet = false;
    std::vector<std::string> keys;
    for (const XmlElement& child : root.children) {
      if (child.name == "Quiet") {
        quiet = child.text == "true";
      } else if (child.name == "Object") {
        const XmlElement* key = child.Child("Key");
        if (key == nullptr) return MalformedXml();
        keys.push_back(key->text);
      }
    }
    if (keys.empty() || keys.size() > kMaxDeleteObjects) return MalformedXml();
    COFFER_RETURN_IF_ERROR(store_.GetBucket(bucket_));
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<DeleteResult xmlns=\"").Raw(kXmlns).Raw("\">");
    for (const std::string& key : keys) {
      Status done = [&]() -> Status {
        COFFER_ASSIGN_OR_RETURN(auto p, PermissionOn("s3:DeleteObject",
                                                     domain::S3ObjectArn(bucket_, key), {},
                                                     bucket_));
        COFFER_RETURN_IF_ERROR(context.authz.Check(p));
        return store_.DeleteObject(bucket_, key);
      }();
      if (done) {
        if (!quiet) xml.Open("Deleted").Element("Key", key).Close("Deleted");
      } else {
        WireError wire = MapError(done.error());
        xml.Open("Error").Element("Key", key).Element("Code", wire.code);
        xml.Element("Message", done.error().message).Close("Error");
      }
    }
    xml.Close("DeleteResult");
    SetXml(xml.str());
    return Ok();
  }

  static std::unexpected<Error> MalformedXml() {
    return Fail(ErrorCode::kInvalidArgument,
                "The XML you provided was not well-formed or did not validate against our "
                "published schema",
                Reason::kMalformedXml);
  }

  // --- objects ---------------------------------------------------------------

  Status PutObject(pipeline::CallContext& context) {
    COFFER_RETURN_IF_ERROR(DecodeBody(context.caller));
    COFFER_ASSIGN_OR_RETURN(ds3::ObjectAttributes a, Attributes());
    COFFER_ASSIGN_OR_RETURN(ds3::ObjectInfo o, store_.PutObject(bucket_, key_, data_, a));
    response_.SetHeader("ETag", Quoted(o.etag));
    SetSse(o.kms_key_arn);
    EchoChecksums();
    value_ids_.push_back(domain::S3ObjectArn(bucket_, key_) + "#" + o.etag);
    return Ok();
  }

  // S3 answers a write with the checksum headers it verified.
  void EchoChecksums() {
    for (const auto& [name, value] : request_.headers) {
      std::string lower = LowerString(name);
      if (lower.starts_with("x-amz-checksum-") && lower != "x-amz-checksum-algorithm" &&
          lower != "x-amz-checksum-type" && lower != "x-amz-checksum-mode") {
        response_.SetHeader(lower, value);
      }
    }
  }

  Status CopyObject() {
    std::string directive = std::string(request_.Header("x-amz-metadata-directive"));
    if (!directive.empty() && directive != "COPY" && directive != "REPLACE") {
      return InvalidRequest("Unknown metadata directive.");
    }
    std::optional<ds3::ObjectAttributes> replace;
    COFFER_ASSIGN_OR_RETURN(ds3::ObjectAttributes a, Attributes());
    if (directive == "REPLACE") replace = a;
    if (!replace && src_bucket_ == bucket_ && src_key_ == key_ && !a.kms_key) {
      return InvalidRequest(
          "This copy request is illegal because it is trying to copy an object to itself "
          "without changing the object's metadata, storage class, website redirect location "
          "or encryption attributes.");
    }
    COFFER_ASSIGN_OR_RETURN(ds3::ObjectInfo o, store_.CopyObject(src_bucket_, src_key_, bucket_,
                                                                  key_, replace, a.kms_key));
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<CopyObjectResult xmlns=\"").Raw(kXmlns).Raw("\">");
    xml.Element("LastModified", IsoMillis(o.modified)).Element("ETag", Quoted(o.etag));
    xml.Close("CopyObjectResult");
    SetXml(xml.str());
    SetSse(o.kms_key_arn);
    value_ids_.push_back(domain::S3ObjectArn(bucket_, key_) + "#" + o.etag);
    return Ok();
  }

  // Range: "bytes=a-b", "bytes=a-", "bytes=-n". A header of another form is
  // ignored (S3 serves the whole object); an unsatisfiable one is refused.
  Result<std::optional<std::pair<uint64_t, uint64_t>>> ParseRange(uint64_t size) const {
    using Range = std::optional<std::pair<uint64_t, uint64_t>>;
    std::string_view h = request_.Header("Range");
    if (h.empty() || !h.starts_with("bytes=")) return Range();
    h.remove_prefix(6);
    if (h.find(',') != std::string_view::npos) return Range();
    size_t dash = h.find('-');
    if (dash == std::string_view::npos) return Range();
    std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
    auto invalid = []() {
      return Fail(ErrorCode::kInvalidArgument, "The requested range is not satisfiable",
                  Reason::kInvalidRange);
    };
    auto parse = [](std::string_view s) -> std::optional<uint64_t> {
      if (s.empty() || s.size() > 19) return std::nullopt;
      uint64_t v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
      return v;
    };
    if (a.empty()) {
      auto n = parse(b);
      if (!n) return Range();
      if (*n == 0 || size == 0) return invalid();
      uint64_t len = std::min(*n, size);
      return Range(std::make_pair(size - len, size - 1));
    }
    auto first = parse(a);
    if (!first) return Range();
    uint64_t last = size == 0 ? 0 : size - 1;
    if (!b.empty()) {
      auto l = parse(b);
      if (!l || *l < *first) return Range();
      last = std::min(*l, last);
    }
    if (*first >= size) return invalid();
    return Range(std::make_pair(*first, last));
  }

  Status GetObject(bool head) {
    COFFER_ASSIGN_OR_RETURN(ds3::ObjectInfo o, store_.HeadObject(bucket_, key_));
    COFFER_ASSIGN_OR_RETURN(auto range, ParseRange(o.size));
    uint64_t offset = range ? range->first : 0;
    uint64_t length = range ? range->second - range->first + 1 : o.size;
    if (std::string_view m = request_.Header("If-Match");
        !m.empty() && m != "*" && m != Quoted(o.etag) && m != o.etag) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "At least one of the pre-conditions you specified did not hold",
                  Reason::kPreconditionFailed);
    }
    if (std::string_view m = request_.Header("If-None-Match");
        !m.empty() && (m == "*" || m == Quoted(o.etag) || m == o.etag)) {
      response_.status = 304;
      response_.SetHeader("ETag", Quoted(o.etag));
      return Ok();
    }
    if (range) {
      response_.status = 206;
      response_.SetHeader("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                               std::to_string(range->second) + "/" +
                                               std::to_string(o.size));
    }
    response_.SetHeader("Content-Type",
                        o.content_type.empty() ? "binary/octet-stream" : o.content_type);
    response_.SetHeader("ETag", Quoted(o.etag));
    response_.SetHeader("Last-Modified", util::FormatHttpDate(o.modified));
    response_.SetHeader("Accept-Ranges", "bytes");
    for (const auto& [k, v] : o.metadata) response_.SetHeader("x-amz-meta-" + k, v);
    SetSse(o.kms_key_arn);
    if (head) {
      response_.SetHeader("Content-Length", std::to_string(length));
      return Ok();
    }
    COFFER_ASSIGN_OR_RETURN(SecretBytes data, store_.ReadObject(o, offset, length));
    response_.body.assign(data.Reveal());
    value_ids_.push_back(domain::S3ObjectArn(bucket_, key_) + "#" + o.etag);
    return Ok();
  }

  Status DeleteObject() {
    COFFER_RETURN_IF_ERROR(store_.DeleteObject(bucket_, key_));
    response_.status = 204;
    return Ok();
  }

  // --- multipart ---------------------------------------------------------------

  Status CreateMultipartUpload() {
    COFFER_ASSIGN_OR_RETURN(ds3::ObjectAttributes a, Attributes());
    COFFER_ASSIGN_OR_RETURN(ds3::Upload u, store_.CreateUpload(bucket_, key_, a));
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<InitiateMultipartUploadResult xmlns=\"").Raw(kXmlns).Raw("\">");
    xml.Element("Bucket", bucket_).Element("Key", key_).Element("UploadId", u.upload_id);
    xml.Close("InitiateMultipartUploadResult");
    SetXml(xml.str());
    SetSse(u.kms_key_arn);
    return Ok();
  }

  Status UploadPart(pipeline::CallContext& context) {
    auto number = ParseInt(Param("partNumber"));
    if (!number || *number < 1 || *number > ds3::kMaxPartNumber) {
      return InvalidRequest("Part number must be an integer between 1 and 10000, inclusive");
    }
    COFFER_RETURN_IF_ERROR(DecodeBody(context.caller));
    COFFER_ASSIGN_OR_RETURN(ds3::Upload u, store_.GetUpload(bucket_, key_, Param("uploadId")));
    COFFER_ASSIGN_OR_RETURN(std::string etag,
                            store_.UploadPart(bucket_, key_, Param("uploadId"),
                                              static_cast<int>(*number), data_));
    response_.SetHeader("ETag", Quoted(etag));
    SetSse(u.kms_key_arn);
    EchoChecksums();
    return Ok();
  }

  Status CompleteMultipartUpload(pipeline::CallContext& context) {
    COFFER_RETURN_IF_ERROR(DecodeBody(context.caller));
    COFFER_ASSIGN_OR_RETURN(XmlElement root, ParseXml(data_));
    if (root.name != "CompleteMultipartUpload") return MalformedXml();
    std::vector<std::pair<int, std::string>> parts;
    for (const XmlElement& child : root.children) {
      if (child.name != "Part") continue;
      const XmlElement* number = child.Child("PartNumber");
      const XmlElement* etag = child.Child("ETag");
      if (number == nullptr || etag == nullptr) return MalformedXml();
      auto n = ParseInt(number->text);
      if (!n || *n > ds3::kMaxPartNumber) return MalformedXml();
      parts.emplace_back(static_cast<int>(*n), etag->text);
    }
    COFFER_ASSIGN_OR_RETURN(ds3::ObjectInfo o,
                            store_.CompleteUpload(bucket_, key_, Param("uploadId"), parts));
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<CompleteMultipartUploadResult xmlns=\"").Raw(kXmlns).Raw("\">");
    xml.Element("Location", resource_path_).Element("Bucket", bucket_).Element("Key", key_);
    xml.Element("ETag", Quoted(o.etag)).Close("CompleteMultipartUploadResult");
    SetXml(xml.str());
    SetSse(o.kms_key_arn);
    value_ids_.push_back(domain::S3ObjectArn(bucket_, key_) + "#" + o.etag);
    return Ok();
  }

  Status AbortMultipartUpload() {
    COFFER_RETURN_IF_ERROR(store_.AbortUpload(bucket_, key_, Param("uploadId")));
    response_.status = 204;
    return Ok();
  }

  Status ListParts() {
    COFFER_ASSIGN_OR_RETURN(std::vector<ds3::PartInfo> parts,
                            store_.ListParts(bucket_, key_, Param("uploadId")));
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<ListPartsResult xmlns=\"").Raw(kXmlns).Raw("\">");
    xml.Element("Bucket", bucket_).Element("Key", key_).Element("UploadId", Param("uploadId"));
    xml.Element("PartNumberMarker", "0");
    xml.Element("NextPartNumberMarker",
                parts.empty() ? "0" : std::to_string(parts.back().number));
    xml.Element("MaxParts", "1000").Element("IsTruncated", "false");
    for (const ds3::PartInfo& p : parts) {
      xml.Open("Part").Element("PartNumber", std::to_string(p.number));
      xml.Element("LastModified", IsoMillis(p.modified)).Element("ETag", Quoted(p.etag));
      xml.Element("Size", std::to_string(p.size)).Close("Part");
    }
    xml.Element("StorageClass", "STANDARD").Close("ListPartsResult");
    SetXml(xml.str());
    return Ok();
  }

  Status ListMultipartUploads() {
    COFFER_ASSIGN_OR_RETURN(std::vector<ds3::Upload> uploads,
                            store_.ListUploads(bucket_, Param("prefix")));
    Xml xml;
    xml.Raw(kXmlHeader).Raw("<ListMultipartUploadsResult xmlns=\"").Raw(kXmlns).Raw("\">");
    xml.Element("Bucket", bucket_).Element("KeyMarker", "").Element("UploadIdMarker", "");
    xml.Element("Prefix", Param("prefix")).Element("MaxUploads", "1000");
    xml.Element("IsTruncated", "false");
    for (const ds3::Upload& u : uploads) {
      xml.Open("Upload").Element("Key", u.key).Element("UploadId", u.upload_id);
      xml.Open("Initiator").Element("ID", "coffer").Element("DisplayName", "coffer");
      xml.Close("Initiator");
      xml.Open("Owner").Element("ID", "coffer").Element("DisplayName", "coffer").Close("Owner");
      xml.Element("StorageClass", "STANDARD").Element("Initiated", IsoMillis(u.initiated));
      xml.Close("Upload");
    }
    xml.Close("ListMultipartUploadsResult");
    SetXml(xml.str());
    return Ok();
  }

  const HttpRequest& request_;
  ds3::ObjectStore& store_;
  const S3FrontOptions& options_;
  auth::PolicyCache& policies_;

  Op op_ = Op::kUnknown;
  std::string bucket_;
  std::string key_;
  bool has_key_ = false;
  std::string resource_path_ = "/";
  std::map<std::string, std::string, std::less<>> params_;
  std::string src_bucket_;
  std::string src_key_;
  std::string owned_data_;
  std::string_view data_;
  std::vector<std::string> value_ids_;
  HttpResponse response_;
};

}  // namespace

S3Front::S3Front(domain::s3::ObjectStore& store, S3FrontOptions options)
    : store_(store), options_(std::move(options)) {}

S3Front::~S3Front() = default;

bool S3Front::Matches(const HttpRequest&) const { return true; }

std::unique_ptr<pipeline::Exchange> S3Front::Open(const HttpRequest& request) {
  return std::make_unique<S3Exchange>(request, store_, options_, policies_);
}

size_t S3Front::BodyLimit(const HttpRequest& head) const {
  if (head.method != "PUT" && head.method != "POST") return 0;
  return options_.max_request_bytes;
}

}  // namespace coffer::api::s3
