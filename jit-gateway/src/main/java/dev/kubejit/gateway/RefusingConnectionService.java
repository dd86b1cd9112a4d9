package dev.kubejit.gateway;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.common.Service;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.session.AbstractServerSession;
import org.apache.sshd.server.session.ServerConnectionService;
import org.apache.sshd.server.session.ServerConnectionServiceFactory;

/**
 * MINA's connection service, except that a channel the gateway refuses carries the refusal's text
 * in its {@code SSH_MSG_CHANNEL_OPEN_FAILURE}: MINA 2.20 sends a generic "error while opening
 * channel" whatever the channel's exception says, and an engineer whose {@code ssh -L} forward is
 * refused should read which rule refused it and why ({@code channel 2: open failed: administratively
 * prohibited: kubejit: refused by rule ...}). {@link ForwardChannel} leaves the text here, keyed by
 * the client's channel number, just before it fails the open.
 */
final class RefusingConnectionService extends ServerConnectionService {
  private final Map<Long, String> refusals = new ConcurrentHashMap<>();

  private RefusingConnectionService(AbstractServerSession session) throws org.apache.sshd.common.SshException {
    super(session);
  }

  /** The factory to put in place of {@link ServerConnectionServiceFactory#INSTANCE}. */
  static ServerConnectionServiceFactory factory() {
    return new ServerConnectionServiceFactory() {
      @Override
      public Service create(Session session) throws IOException {
        if (!(session instanceof AbstractServerSession)) {
          throw new IllegalStateException("not a server session: " + session);
        }
        RefusingConnectionService s = new RefusingConnectionService((AbstractServerSession) session);
        s.addPortForwardingEventListenerManager(this);
        return s;
      }
    };
  }

  /** The message for the open failure of the client's channel {@code clientChannel}. */
  void refusing(long clientChannel, String message) {
    refusals.put(clientChannel, message);
  }

  @Override
  protected IoWriteFuture sendChannelOpenFailure(Buffer buffer, long sender, int reasonCode, String message,
      String lang) throws IOException {
    String why = refusals.remove(sender);
    return super.sendChannelOpenFailure(buffer, sender, reasonCode, why == null ? message : why, lang);
  }
}
