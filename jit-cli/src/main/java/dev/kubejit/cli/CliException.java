package dev.kubejit.cli;

/** A refusal or error that the CLI prints as one line to stderr, with an exit code. */
final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int exitCode;

  CliException(String message) {
    this(message, 1);
  }

  CliException(String message, int exitCode) {
    super(message);
    this.exitCode = exitCode;
  }

  CliException(String message, Throwable cause) {
    super(message, cause);
    this.exitCode = 1;
  }

  int exitCode() {
    return exitCode;
  }
}
