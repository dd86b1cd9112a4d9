package dev.kubejit.gateway;

import dev.kubejit.api.GrantId;
import dev.kubejit.api.RequestId;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The grant a certificate carries, read from its key id as jit-credentials-ssh writes it for a
 * grant: {@code kubejit:request=<request id>:grant=<grant id>:user=<holder>}. The key id is covered
 * by the CA's signature, so only the CA can bind a certificate to a grant.
 */
final class GrantKeyId {
  private static final Pattern FORMAT = Pattern.compile("kubejit:request=([^:\\s]+):grant=([^:\\s]+):user=(\\S+)");

  final RequestId request;
  final GrantId grant;
  final String user;

  private GrantKeyId(RequestId request, GrantId grant, String user) {
    this.request = request;
    this.grant = grant;
    this.user = user;
  }

  /** @throws IllegalArgumentException if the key id does not name a grant */
  static GrantKeyId parse(String keyId) {
    Matcher m = FORMAT.matcher(keyId == null ? "" : keyId);
    if (!m.matches()) {
      throw new IllegalArgumentException("key id " + Text.quote(String.valueOf(keyId))
          + " does not name a grant (expected kubejit:request=<id>:grant=<id>:user=<name>)");
    }
    return new GrantKeyId(RequestId.parse(m.group(1)), GrantId.parse(m.group(2)), m.group(3));
  }
}
