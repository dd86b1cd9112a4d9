package dev.kubejit.gateway;

import dev.kubejit.api.Action;
import dev.kubejit.api.Use;

/**
 * The pod and port a {@code direct-tcpip} channel names ({@code ssh -L LOCAL:HOST:PORT}): HOST is
 * {@code POD.NAMESPACE}, where NAMESPACE must be the grant's namespace, or a bare {@code POD} (a
 * name without dots) in the grant's namespace; PORT is 1 to 65535. Nothing is resolved through DNS
 * and no other host is ever connected to: the forward goes to the named pod through the
 * Kubernetes API, and only to it. A pod name with dots must be written {@code POD.NAMESPACE}.
 */
final class ForwardTarget {
  /** The rule that refuses a host or port the gateway cannot turn into a pod of the grant's namespace. */
  static final String RULE = "gateway:forward-target";

  final String pod;
  final int port;

  private ForwardTarget(String pod, int port) {
    this.pod = pod;
    this.port = port;
  }

  /**
   * Reads the target of a forward for a grant scoped to {@code namespace}.
   *
   * @throws IllegalArgumentException with the reason when the host or port is not acceptable
   */
  static ForwardTarget parse(String host, long port, String namespace) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is not between 1 and 65535");
    }
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("no host given; forward to POD." + namespace + ":PORT");
    }
    String suffix = "." + namespace;
    String pod;
    if (host.endsWith(suffix) && host.length() > suffix.length()) {
      pod = host.substring(0, host.length() - suffix.length());
    } else if (host.indexOf('.') < 0) {
      pod = host;
    } else {
      throw new IllegalArgumentException("host " + Text.quote(host) + " is not POD." + namespace
          + " (this grant's namespace) nor a bare pod name");
    }
    try {
      // The one check of a pod name (a DNS subdomain), as every other use of a grant makes it.
      Use.action(Action.PORT_FORWARD).in(pod, null);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("host " + Text.quote(host) + " does not name a pod: "
          + Text.quote(pod) + " is not a Kubernetes name");
    }
    return new ForwardTarget(pod, (int) port);
  }

  @Override
  public String toString() {
    return pod + ":" + port;
  }
}
