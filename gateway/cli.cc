#include "gateway/cli.h"

#include <fmt/core.h>

namespace cg::gateway {

int ReportError(const Status& status) {
  fmt::print(stderr, "error: {}\n", status.message());
  return kExitUsage;
}

void AddKeyOptions(CLI::App& command, KeyOptions& options, bool key_required) {
  auto* key = command.add_option("--key", options.key_file, "Key set file");
  if (key_required) key->required();
  command
      .add_option("--passphrase-env", options.passphrase_env,
                  "Environment variable holding the key passphrase")
      ->capture_default_str();
  command.add_option("--passphrase-file", options.passphrase_file,
                     "File whose first line is the key passphrase (instead of the variable)");
  command.add_flag("--plaintext-for-tests", options.plaintext_for_tests,
                   "Allow a key stored without encryption (tests only)");
}

StatusOr<std::string> ReadKeyPassphrase(const KeyOptions& options) {
  crypto::PassphraseSource source;
  if (!options.passphrase_file.empty()) {
    source.file = options.passphrase_file;
  } else {
    source.env_var = options.passphrase_env;
  }
  auto passphrase = crypto::ReadPassphrase(source);
  if (passphrase.ok()) return passphrase;
  if (options.plaintext_for_tests) return std::string();
  // A plaintext test key needs no passphrase but the flag: say that, not "no passphrase".
  auto sealed = crypto::KeySet::IsSealed(options.key_file);
  if (sealed.ok() && !*sealed) {
    return FailedPreconditionError("key file " + options.key_file +
                                   " is stored unencrypted; plaintext keys are for tests only "
                                   "(--plaintext-for-tests)");
  }
  return passphrase;
}

StatusOr<crypto::KeySet> LoadKeySet(const KeyOptions& options, std::string_view passphrase) {
  crypto::KeySetLoadOptions load_options;
  load_options.allow_plaintext = options.plaintext_for_tests;
  return crypto::KeySet::Load(options.key_file, passphrase, load_options);
}

int RunCli(int argc, char** argv) {
  CLI::App app{
      "credit-gateway: Shenzhen-Hong Kong mutual recognition of enterprise credit evaluations.\n"
      "Signs credit attestations as DSSE envelopes and verifies them, online or offline.",
      "credit-gateway"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "credit-gateway 0.1.0");
  int exit_code = kExitOk;
  AddKeyCommands(app, exit_code);
  AddAttestCommand(app, exit_code);
  AddVerifyCommand(app, exit_code);
  AddConfigCommand(app, exit_code);
  AddLoadCommand(app, exit_code);
  AddSynthCommand(app, exit_code);
  AddEvaluateCommands(app, exit_code);
  AddInitCommand(app, exit_code);
  AddServeCommand(app, exit_code);
  AddPeerCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}

}  // namespace cg::gateway
