// The S3 REST+XML front (docs/s3.md): path-style (/bucket/key) and
// virtual-host style (Host: bucket.<domain>) requests, routed by method, path
// and sub-resource to the operations of domain/s3's ObjectStore, through the
// one request pipeline (SigV4 with S3's payload forms and presigned URLs,
// IAM policies and bucket policies, audit, metrics). Errors are S3's XML
// <Error> documents with S3's status codes, from the one table in
// s3_front.cc.
//
// Operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
// GetBucketLocation, Put/Get/DeleteBucketPolicy, ListObjects(V2), PutObject,
// CopyObject, GetObject (Range), HeadObject, DeleteObject, DeleteObjects,
// CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts, ListMultipartUploads. Anything else: 501
// NotImplemented.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/pipeline/pipeline.h"
#include "auth/authorizer.h"
#include "domain/s3/object_store.h"

namespace coffer::api::s3 {

struct S3FrontOptions {
  // Host names under which "<bucket>.<name>" addresses a bucket
  // (virtual-host style); any other Host is path style.
  std::vector<std::string> virtual_host_domains = {"localhost"};
  // The largest request body: a PutObject or UploadPart, plus the
  // aws-chunked framing (`coffer server --s3-max-request-size`). Larger
  // objects are uploaded in parts (aws s3 cp does this from 8 MiB).
  size_t max_request_bytes = 64 * 1024 * 1024;
};

// Thread-safe. `store` must outlive the front.
class S3Front final : public pipeline::Front {
 public:
  S3Front(domain::s3::ObjectStore& store, S3FrontOptions options);
  ~S3Front() override;

  // Every request the router hands to it (the router decides what is S3's).
  bool Matches(const HttpRequest& request) const override;
  std::unique_ptr<pipeline::Exchange> Open(const HttpRequest& request) override;

  // The body limit for `head` (HttpServerOptions::large_body_limit): the
  // configured request maximum for PUT and POST, else 0.
  size_t BodyLimit(const HttpRequest& head) const;

 private:
  domain::s3::ObjectStore& store_;
  S3FrontOptions options_;
  // Compiled bucket policies, by bucket ARN and record revision.
  auth::PolicyCache policies_{auth::PolicyKind::kResource};
};

}  // namespace coffer::api::s3
