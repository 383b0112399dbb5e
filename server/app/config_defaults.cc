#include "server/app/config_defaults.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/text_format.h"
#include "gridline/config/v1/server_config.pb.h"

namespace gridline::app {
namespace {

namespace pb = ::google::protobuf;

// The value of a numeric field, or nothing for other types.
std::optional<double> NumberOf(const pb::Message& m, const pb::FieldDescriptor* f) {
  const pb::Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(r->GetInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return r->GetUInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(r->GetUInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return r->GetDouble(m, f);
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return r->GetFloat(m, f);
    default:
      return std::nullopt;
  }
}

absl::Status Apply(pb::Message* m, const std::string& prefix) {
  const pb::Descriptor* d = m->GetDescriptor();
  const pb::Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) continue;
    const std::string path = absl::StrCat(prefix, f->name());
    const pb::FieldOptions& o = f->options();
    const bool has_default = o.HasExtension(config::v1::default_value);
    const std::string def = has_default ? o.GetExtension(config::v1::default_value) : "";
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (r->HasField(*m, f) || def == "{}") {
        if (absl::Status s = Apply(r->MutableMessage(m, f), path + "."); !s.ok()) return s;
      }
      continue;
    }
    if (has_default && !r->HasField(*m, f)) {
      // A string's default is the text itself; any other type's is its text-format value.
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
        r->SetString(m, f, def);
      } else if (!pb::TextFormat::ParseFieldValueFromString(def, f, m)) {
        return absl::InternalError(absl::StrCat("the config schema's default of ", path, " (\"",
                                                def, "\") does not parse"));
      }
    }
    if (!r->HasField(*m, f)) continue;
    const std::optional<double> v = NumberOf(*m, f);
    if (!v) continue;
    if (std::isnan(*v)) {
      // Text format reads "nan", and NaN passes every comparison with a bound.
      return absl::InvalidArgumentError(absl::StrCat(path, " is not a number"));
    }
    const bool has_min = o.HasExtension(config::v1::min_value);
    const bool has_max = o.HasExtension(config::v1::max_value);
    const double lo = o.GetExtension(config::v1::min_value);
    const double hi = o.GetExtension(config::v1::max_value);
    if ((has_min && *v < lo) || (has_max && *v > hi)) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is ", *v, "; it must be ",
                                                     has_min && has_max
                                                         ? absl::StrCat("from ", lo, " to ", hi)
                                                     : has_min ? absl::StrCat("at least ", lo)
                                                               : absl::StrCat("at most ", hi)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyConfigDefaults(pb::Message* message) { return Apply(message, ""); }

}  // namespace gridline::app
