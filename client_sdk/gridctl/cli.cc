#include "cli.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "output.h"

namespace gridctl {

std::string Args::Value(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end() || it->second.empty()) return fallback;
  return it->second.back();
}

std::vector<std::string> Args::Values(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return {};
  return it->second;
}

bool ParseArgs(const std::vector<std::string>& tokens, const std::vector<FlagSpec>& specs,
               Args* args, std::string* error) {
  const auto find = [&](const std::string& name) -> const FlagSpec* {
    for (const auto& spec : specs) {
      if (spec.name == name) return &spec;
    }
    return nullptr;
  };
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (token == "--") {
      for (++i; i < tokens.size(); ++i) args->AddPositional(tokens[i]);
      break;
    }
    if (token == "-h") {
      args->Add("help", "");
      continue;
    }
    if (!absl::StartsWith(token, "--")) {
      if (token.size() > 1 && token[0] == '-') {
        *error = "unknown flag '" + token + "' (flags start with --)";
        return false;
      }
      args->AddPositional(token);  // including "-", which some flags take as stdout
      continue;
    }
    std::string name = token.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (name == "token") {
      *error =
          "there is no --token flag: a token on the command line leaks into the shell history "
          "and the process list; set GRIDLINE_TOKEN or use --token-file FILE";
      return false;
    }
    const FlagSpec* spec = find(name);
    if (spec == nullptr) {
      *error = "unknown flag '--" + name + "'";
      return false;
    }
    if (spec->value_name.empty()) {
      if (has_value) {
        *error = "flag '--" + name + "' takes no value";
        return false;
      }
      args->Add(name, "");
      continue;
    }
    if (!has_value) {
      if (i + 1 >= tokens.size()) {
        *error = "flag '--" + name + "' needs a value (" + spec->value_name + ")";
        return false;
      }
      value = tokens[++i];
    }
    if (!spec->repeated && args->Has(name)) {
      *error = "flag '--" + name + "' given more than once";
      return false;
    }
    args->Add(name, std::move(value));
  }
  return true;
}

std::string CommandName(const Command& command) {
  return "gridctl " + absl::StrJoin(command.path, " ");
}

void PrintFlags(const std::vector<FlagSpec>& flags, std::ostream& os) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& f : flags) {
    std::string left = "--" + f.name;
    if (!f.value_name.empty()) left += " " + f.value_name;
    std::string help = f.help;
    if (f.repeated) help += " (repeatable)";
    rows.emplace_back(std::move(left), std::move(help));
  }
  int width = 0;
  for (const auto& [left, help] : rows) width = std::max(width, DisplayWidth(left));
  for (const auto& [left, help] : rows) {
    os << "  " << left << std::string(width - DisplayWidth(left) + 3, ' ') << help << '\n';
  }
}

void PrintCommandHelp(const Command& command, std::ostream& os) {
  os << "Usage: " << CommandName(command);
  if (!command.synopsis.empty()) os << ' ' << command.synopsis;
  os << "\n\n" << command.summary << '\n';
  if (!command.details.empty()) os << '\n' << command.details << '\n';
  std::vector<FlagSpec> flags = command.flags;
  flags.push_back({"help", "", "show this help"});
  os << "\nFlags:\n";
  PrintFlags(flags, os);
  if (!command.offline) {
    os << "\nGlobal flags (--endpoint, --insecure, --tls-roots, --timeout, --token-file, --output)"
          " and the\nexit statuses: see `gridctl --help`.\n";
  }
}

void PrintGroupHelp(const Group& group, const std::vector<Command>& commands, std::ostream& os) {
  os << "Usage: gridctl " << group.name << " COMMAND [ARGS] [FLAGS]\n\n" << group.summary << "\n\n";
  os << "Commands:\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& c : commands) {
    if (c.path.size() == 2 && c.path[0] == group.name) rows.emplace_back(c.path[1], c.summary);
  }
  int width = 0;
  for (const auto& [name, summary] : rows) width = std::max(width, DisplayWidth(name));
  for (const auto& [name, summary] : rows) {
    os << "  " << name << std::string(width - DisplayWidth(name) + 3, ' ') << summary << '\n';
  }
  os << "\nRun `gridctl " << group.name << " COMMAND --help` for a command's flags.\n";
}

}  // namespace gridctl
