package dev.kubejit.gateway;

import java.security.PublicKey;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKey;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.session.ServerSession;

/**
 * MINA's public key method with our checks first: MINA refuses an expired or wrongly signed
 * certificate before it consults the {@link org.apache.sshd.server.auth.pubkey.PublickeyAuthenticator},
 * which would leave that refusal out of the audit log. Here every certificate is judged (and a
 * refusal audited) by {@link CertificateLogin} before MINA's own checks and the proof of possession
 * of the private key run unchanged.
 */
final class CertificateUserAuth extends UserAuthPublicKey {
  private final CertificateLogin login;

  CertificateUserAuth(CertificateLogin login) {
    this.login = login;
  }

  static UserAuthPublicKeyFactory factory(CertificateLogin login) {
    return new UserAuthPublicKeyFactory() {
      @Override
      public UserAuthPublicKey createUserAuth(ServerSession session) {
        return new CertificateUserAuth(login);
      }
    };
  }

  @Override
  public Boolean doAuth(Buffer buffer, boolean init) throws Exception {
    int pos = buffer.rpos();
    PublicKey key = null;
    try {
      buffer.getBoolean();
      buffer.getString();
      key = new ByteArrayBuffer(buffer.getBytes()).getRawPublicKey();
    } catch (Exception malformed) {
      // MINA's own parsing below reports it
    } finally {
      buffer.rpos(pos);
    }
    if (key instanceof OpenSshCertificate && !login.authenticate(getUsername(), key, getServerSession())) {
      return Boolean.FALSE;
    }
    return super.doAuth(buffer, init);
  }
}
