package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One use of a grant that a gateway asks the broker to authorise: an action, optionally a command
 * (as argv, or as a raw command line the policy tokenises), and the pod and container it targets.
 */
public final class Use {
  private final Action action;
  private final ImmutableList<String> argv;
  private final String commandLine;
  private final String pod;
  private final String container;
  private final Stream stream;

  /**
   * How the stream of an exec or attach reaches the pod: mediated by a gateway that can cut it
   * (the default), or opened by the API server itself for a plain {@code kubectl exec} and decided
   * only once, at admission, so that it outlives the grant.
   */
  public enum Stream {
    /** A gateway mediates the session and ends it when the grant ends (also: no stream at all). */
    MEDIATED,
    /** Opened by the API server, without stdin or tty; checked only when it opens. */
    DIRECT,
    /** Opened by the API server with stdin or a tty attached; checked only when it opens. */
    DIRECT_INTERACTIVE;

    /** Whether the API server opens this stream itself, so that revocation does not end it. */
    public boolean isDirect() {
      return this != MEDIATED;
    }
  }

  private Use(Action action, List<String> argv, String commandLine, String pod, String container) {
    this(action, argv, commandLine, pod, container, Stream.MEDIATED);
  }

  private Use(Action action, List<String> argv, String commandLine, String pod, String container, Stream stream) {
    this.stream = requireNonNull(stream, "stream");
    this.action = requireNonNull(action, "action");
    this.argv = argv == null ? null : ImmutableList.copyOf(argv);
    this.commandLine = commandLine;
    this.pod = pod;
    this.container = container;
    if (this.argv != null && this.argv.isEmpty()) {
      throw new IllegalArgumentException("argv must not be empty");
    }
    if (commandLine != null && commandLine.length() > 64 * 1024) {
      throw new IllegalArgumentException("command line is longer than 64 KiB");
    }
  }

  /** A use of an action without a command (for example reading logs). */
  public static Use action(Action action) {
    return new Use(action, null, null, null, null);
  }

  /** An exec of {@code argv} (no shell involved). */
  public static Use command(List<String> argv) {
    for (String a : requireNonNull(argv, "argv")) {
      requireNonNull(a, "argv element");
    }
    return new Use(Action.EXEC, argv, null, null, null);
  }

  /** An exec of a command line, to be tokenised by the policy the POSIX way. */
  public static Use commandLine(String commandLine) {
    return new Use(Action.EXEC, null, requireNonNull(commandLine, "commandLine"), null, null);
  }

  /** This use, targeting a pod (and optionally a container). */
  public Use in(String pod, String container) {
    return new Use(action, argv, commandLine, Validation.requireDnsSubdomain(pod, "pod"),
        container == null ? null : Validation.requireDnsLabel(container, "container"), stream);
  }

  /**
   * This use, arriving as {@code stream}; an admission webhook marks the execs it decides {@link
   * Stream#DIRECT} or {@link Stream#DIRECT_INTERACTIVE}, so that a policy can refuse long-running
   * ones.
   */
  public Use over(Stream stream) {
    return new Use(action, argv, commandLine, pod, container, requireNonNull(stream, "stream"));
  }

  /** How this use's stream reaches the pod ({@link Stream#MEDIATED} unless {@link #over} said otherwise). */
  public Stream stream() {
    return stream;
  }

  /** The action. */
  public Action action() {
    return action;
  }

  /** The argv, when given as such. */
  public Optional<ImmutableList<String>> argv() {
    return Optional.ofNullable(argv);
  }

  /** The raw command line, when given as such. */
  public Optional<String> commandLine() {
    return Optional.ofNullable(commandLine);
  }

  /** Whether this use runs a command. */
  public boolean isCommand() {
    return argv != null || commandLine != null;
  }

  /** The targeted pod. */
  public Optional<String> pod() {
    return Optional.ofNullable(pod);
  }

  /** The targeted container. */
  public Optional<String> container() {
    return Optional.ofNullable(container);
  }

  /** A rendering for audit records: argv joined by spaces with each element quoted if needed. */
  public String describe() {
    if (commandLine != null) {
      return commandLine;
    }
    if (argv == null) {
      return action.name();
    }
    StringBuilder sb = new StringBuilder();
    for (String a : argv) {
      if (sb.length() > 0) {
        sb.append(' ');
      }
      sb.append(a.isEmpty() || !a.matches("[A-Za-z0-9_./=:,+@%-]+") ? Validation.quote(a) : a);
    }
    return sb.toString();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Use)) {
      return false;
    }
    Use u = (Use) o;
    return action.equals(u.action) && Objects.equals(argv, u.argv) && Objects.equals(commandLine, u.commandLine)
        && Objects.equals(pod, u.pod) && Objects.equals(container, u.container) && stream == u.stream;
  }

  @Override
  public int hashCode() {
    return Objects.hash(action, argv, commandLine, pod, container, stream);
  }

  @Override
  public String toString() {
    return "Use{" + action + (isCommand() ? " " + describe() : "") + (pod == null ? "" : " pod=" + pod)
        + (container == null ? "" : " container=" + container) + (stream.isDirect() ? " " + stream : "") + "}";
  }
}
