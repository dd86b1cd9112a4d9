package dev.kubejit.policy;

import dev.kubejit.api.KubeJitException;
import java.util.Optional;

/**
 * A policy file (or policy test file) that cannot be loaded: unknown field, wrong type, duplicate,
 * bad duration or regex, refused XML construct, ... with the source, line, column and the path of
 * the offending field.
 *
 * <p>The message has the form {@code source:line:column: at /roles/0/maxDuration: what is wrong};
 * offending values are quoted with control and non-ASCII characters escaped.
 */
public final class PolicyException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  private final String source;
  private final int line;
  private final int column;
  private final String path;

  PolicyException(String source, int line, int column, String path, String problem, Throwable cause) {
    super(render(source, line, column, path, problem), cause);
    this.source = source;
    this.line = line;
    this.column = column;
    this.path = path;
  }

  private static String render(String source, int line, int column, String path, String problem) {
    StringBuilder sb = new StringBuilder(source == null ? "<policy>" : source);
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

  /** The name of the file or stream that was being read. */
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

  /** The JSON-pointer-like path to the offending field (for example {@code /roles/0/name}), if known. */
  public Optional<String> path() {
    return Optional.ofNullable(path);
  }
}
