package dev.kubejit.server;

import dev.kubejit.api.KubeJitException;
import java.util.Optional;

/**
 * A {@code kubejit.yaml} that cannot be used: unknown field, wrong type, bad duration, missing
 * required key, a secret written into the file, an unsafe combination (for example header
 * authentication on a non-loopback address), with the source, line, column and path.
 *
 * <p>The message has the form {@code source:line:column: at /store/postgresql: what is wrong}.
 * It never contains a secret: the configuration holds only file paths and environment variable
 * names, and a refused secret value is not echoed.
 */
public final class ConfigException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  private final String source;
  private final int line;
  private final int column;
  private final String path;

  ConfigException(String source, int line, int column, String path, String problem, Throwable cause) {
    super(render(source, line, column, path, problem), cause);
    this.source = source;
    this.line = line;
    this.column = column;
    this.path = path;
  }

  private static String render(String source, int line, int column, String path, String problem) {
    StringBuilder sb = new StringBuilder(source == null ? "<config>" : source);
    if (line > 0) {
      sb.append(':').append(line);
      if (column > 0) {
        sb.append(':').append(column);
      }
    }
    sb.append(": ");
    if (path != null) {
      sb.append("at ").append(path.isEmpty() ? "/" : path).append(": ");
    }
    return sb.append(problem).toString();
  }

  /** The name of the file that was being read. */
  public String source() {
    return source;
  }

  /** The 1-based line of the problem, or 0 when unknown. */
  public int line() {
    return line;
  }

  /** The 1-based column of the problem, or 0 when unknown. */
  public int column() {
    return column;
  }

  /** The JSON-pointer-like path of the offending key (for example {@code /listen/address}), if known. */
  public Optional<String> path() {
    return Optional.ofNullable(path);
  }
}
