package dev.kubejit.gateway;

import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import java.time.Instant;
import org.apache.sshd.common.AttributeRepository.AttributeKey;

/** What certificate authentication established for one SSH connection; kept as a session attribute. */
final class Login {
  static final AttributeKey<Login> KEY = new AttributeKey<>();

  final GrantId grant;
  final RequestId request;
  final Identity holder;
  final String principal;
  final String serialHex;
  final String keyId;
  final String keyFingerprint;
  final String source;
  final Instant certificateValidBefore;

  Login(GrantId grant, RequestId request, Identity holder, String principal, String serialHex, String keyId,
      String keyFingerprint, String source, Instant certificateValidBefore) {
    this.grant = grant;
    this.request = request;
    this.holder = holder;
    this.principal = principal;
    this.serialHex = serialHex;
    this.keyId = keyId;
    this.keyFingerprint = keyFingerprint;
    this.source = source;
    this.certificateValidBefore = certificateValidBefore;
  }

  @Override
  public String toString() {
    return "Login{" + principal + ", grant=" + grant + ", serial=" + serialHex + ", from " + source + "}";
  }
}
