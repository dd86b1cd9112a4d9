package dev.kubejit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code kubejit} command line.
 *
 * <p>Conventions for every subcommand: results go to stdout; a refusal or error prints one clear
 * line to stderr ({@code kubejit: <message>}) and exits non-zero; a stack trace is printed only
 * with {@code --debug}. Subcommands throw {@link CliException} (or any exception) and let this
 * class render it.
 */
@Command(
    name = "kubejit",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Just-in-time, scoped, short-lived, audited access to Kubernetes.",
    subcommands = {DemoCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @Option(names = "--debug", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
  boolean debug;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Runs the CLI and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs the CLI with the given streams and returns the exit status (for tests and embedding). */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = commandLine();
    cli.setOut(out);
    cli.setErr(err);
    return cli.execute(args);
  }

  /** Builds the picocli command tree with KubeJIT's error handling. */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    for (Class<?> sub : Subcommands.EXTRA) {
      cli.addSubcommand(sub);
    }
    cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      boolean debug = parseResult.hasMatchedOption("--debug")
          || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--debug"))
          || hasDebug(parseResult);
      PrintWriter err = commandLine.getErr();
      err.println("kubejit: " + message(ex));
      if (debug) {
        ex.printStackTrace(err);
      }
      err.flush();
      return ex instanceof CliException ? ((CliException) ex).exitCode() : 1;
    });
    cli.setParameterExceptionHandler((ex, args) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("kubejit: " + ex.getMessage());
      err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
      err.flush();
      return 64;
    });
    return cli;
  }

  private static boolean hasDebug(CommandLine.ParseResult result) {
    for (CommandLine.ParseResult p = result; p != null; p = p.subcommand()) {
      if (p.hasMatchedOption("--debug")) {
        return true;
      }
    }
    return false;
  }

  private static String message(Throwable ex) {
    String m = ex.getMessage();
    if (m == null || m.isBlank()) {
      m = ex.getClass().getSimpleName();
    }
    return m.replace('\n', ' ').replace('\r', ' ');
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Reads the version that Maven wrote into the jar. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      Properties p = new Properties();
      try (InputStream in = Main.class.getResourceAsStream("/kubejit-version.properties")) {
        if (in != null) {
          p.load(in);
        }
      }
      return new String[] {
        "kubejit " + p.getProperty("version", "unknown"),
        "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
      };
    }
  }
}
