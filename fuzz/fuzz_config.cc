// Fuzzes the configuration loader: the input is the text of a server config file, run through
// app::ParseServerConfig (protobuf's text-format parser) and app::FinalizeServerConfig (the
// schema's defaults and bounds applied by reflection, app::ApplyConfigDefaults, then the rules
// between fields), as `gridline-server --config` does.
//
// store.mysql.password_file is cleared before FinalizeServerConfig: the loader reads that file,
// and a fuzzer must not read the machine's files (an operator writes the config, so reading the
// file they name is not a flaw).
//
// Errors are printed by gridline-server, not sent to a client, so they are only checked to be
// INVALID_ARGUMENT with a message. Beyond "no crash, no leak, no sanitizer report": every number a
// finalized config holds is within its schema bounds ((min_value), (max_value), checked here
// independently of the loader), the defaults are applied (finalizing again changes nothing), and
// the finalized config printed as
// `--print_config` prints it parses back to the same config.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_status.h"
#include "gridline/config/v1/server_config.pb.h"
#include "server/app/config.h"

namespace gridline::fuzz {
namespace {

namespace pb = ::google::protobuf;

// Every set number of `m` (recursively) within its schema bounds.
void CheckBounds(const pb::Message& m) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) continue;
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (r->HasField(m, f)) CheckBounds(r->GetMessage(m, f));
      continue;
    }
    if (!r->HasField(m, f)) continue;
    double v = 0;
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        v = r->GetInt32(m, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        v = static_cast<double>(r->GetInt64(m, f));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        v = r->GetUInt32(m, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        v = static_cast<double>(r->GetUInt64(m, f));
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        v = r->GetDouble(m, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        v = r->GetFloat(m, f);
        break;
      default:
        continue;
    }
    const pb::FieldOptions& o = f->options();
    if (o.HasExtension(config::v1::min_value)) {
      GRIDLINE_FUZZ_CHECK(v >= o.GetExtension(config::v1::min_value), f->full_name().c_str());
    }
    if (o.HasExtension(config::v1::max_value)) {
      GRIDLINE_FUZZ_CHECK(v <= o.GetExtension(config::v1::max_value), f->full_name().c_str());
    }
  }
}

void Run(const std::string& text) {
  auto parsed = app::ParseServerConfig(text);
  if (!parsed.ok()) {
    GRIDLINE_FUZZ_CHECK(absl::IsInvalidArgument(parsed.status()), "parse error code");
    GRIDLINE_FUZZ_CHECK(!parsed.status().message().empty(), "a parse error says nothing");
    return;
  }
  app::ServerConfig config = *std::move(parsed);
  if (config.store().has_mysql()) config.mutable_store()->mutable_mysql()->clear_password_file();
  absl::Status s = app::FinalizeServerConfig(&config);
  if (!s.ok()) {
    // INTERNAL would be a default in the schema that does not parse: a bug of the schema.
    GRIDLINE_FUZZ_CHECK(absl::IsInvalidArgument(s), "finalize error code");
    GRIDLINE_FUZZ_CHECK(!s.message().empty(), "a config error says nothing");
    return;
  }
  CheckBounds(config);
  GRIDLINE_FUZZ_CHECK(config.max_queued_calls() > 0, "no queue bound");
  GRIDLINE_FUZZ_CHECK(!config.attachments().directory().empty(), "no photo directory");

  app::ServerConfig again = config;
  GRIDLINE_FUZZ_CHECK(app::FinalizeServerConfig(&again).ok(), "a finalized config is refused");
  GRIDLINE_FUZZ_CHECK(pb::util::MessageDifferencer::Equals(again, config),
                      "finalizing twice changes the config");

  std::string printed;
  GRIDLINE_FUZZ_CHECK(pb::TextFormat::PrintToString(config, &printed), "print");
  auto reparsed = app::ParseServerConfig(printed);
  GRIDLINE_FUZZ_CHECK(reparsed.ok(), "the printed config does not parse");
  GRIDLINE_FUZZ_CHECK(pb::util::MessageDifferencer::Equals(*reparsed, config),
                      "the printed config parses to another config");
}

}  // namespace
}  // namespace gridline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gridline::fuzz::Run(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
