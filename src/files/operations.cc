#include "files/operations.h"

namespace coffer::files {

Result<SopsFile> LoadSopsFile(Format format, std::string_view text) {
  Format on_disk = format == Format::kBinary ? Format::kJson : format;
  COFFER_ASSIGN_OR_RETURN(Document doc, Parse(on_disk, text));
  return SplitSopsFile(format, std::move(doc));
}

Result<DecryptedFile> DecryptText(Format format, std::string_view text, const KeyServices& services,
                                  const DecryptOptions& options) {
  DecryptedFile out;
  COFFER_ASSIGN_OR_RETURN(out.file, LoadSopsFile(format, text));
  COFFER_ASSIGN_OR_RETURN(out.data_key, DecryptDataKey(out.file.metadata, services));
  COFFER_RETURN_IF_ERROR(DecryptSopsFile(out.file, out.data_key, options, &out.stash));
  return out;
}

Result<SecretBytes> EmitPlaintext(Format format, const Document& doc) {
  COFFER_ASSIGN_OR_RETURN(std::string text, Emit(format, doc));
  SecretBytes out(text);
  util::SecureClear(text);
  return out;
}

Result<std::string> EncryptText(Format format, std::string_view text, Metadata metadata,
                                const KeyServices& services, std::string_view now_rfc3339) {
  COFFER_ASSIGN_OR_RETURN(Document doc, Parse(format, text));
  if (format != Format::kBinary && HasSopsMetadata(format, doc)) {
    return Fail(ErrorCode::kInvalidArgument, "file already encrypted", Reason::kValidation);
  }
  SopsFile file;
  file.doc = std::move(doc);
  file.metadata = std::move(metadata);
  SecretBytes data_key = NewDataKey();
  COFFER_RETURN_IF_ERROR(EncryptSopsFile(file, data_key, now_rfc3339));
  COFFER_RETURN_IF_ERROR(WrapDataKey(data_key, now_rfc3339, services, file.metadata));
  return EmitSopsFile(format, file);
}

Result<std::string> ReencryptDocument(Format format, Document doc, const DecryptedFile& decrypted,
                                      std::string_view now_rfc3339) {
  SopsFile file;
  file.doc = std::move(doc);
  file.metadata = decrypted.file.metadata;
  COFFER_RETURN_IF_ERROR(EncryptSopsFile(file, decrypted.data_key, now_rfc3339, &decrypted.stash));
  return EmitSopsFile(format, file);
}

}  // namespace coffer::files
