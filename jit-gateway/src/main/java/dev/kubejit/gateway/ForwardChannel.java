package dev.kubejit.gateway;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.ChannelOutputStream;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.AbstractServerChannel;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code direct-tcpip} channel ({@code ssh -L}) that is a Kubernetes port-forward instead of a
 * TCP connection from the gateway: MINA's own {@code DirectTcpipFactory} is not installed, so the
 * gateway never connects anywhere on an engineer's behalf. The open is decided and the WebSocket
 * opened by {@link PortForwards} off MINA's I/O thread; the channel is confirmed only once the
 * forward stands, and a refusal is an {@code SSH_MSG_CHANNEL_OPEN_FAILURE} whose text names the
 * rule ({@link RefusingConnectionService}). Bytes from the client go to the pod as they arrive (the
 * window is released once the WebSocket has taken them); bytes from the pod are pumped by one
 * thread into the channel, which waits on the client's window. The channel ends when either side
 * closes or the grant ends; ending it ends the WebSocket.
 */
final class ForwardChannel extends AbstractServerChannel {
  private static final Logger log = LoggerFactory.getLogger(ForwardChannel.class);

  private final PortForwards forwards;
  private volatile PortForwards.Forward forward;

  private ForwardChannel(PortForwards forwards) {
    super(null);
    this.forwards = forwards;
  }

  /** The {@code direct-tcpip} channel factory. */
  static ChannelFactory factory(PortForwards forwards) {
    return new ChannelFactory() {
      @Override
      public String getName() {
        return "direct-tcpip";
      }

      @Override
      public Channel createChannel(Session session) {
        return new ForwardChannel(forwards);
      }
    };
  }

  @Override
  protected OpenFuture doInit(Buffer buffer) {
    DefaultOpenFuture f = new DefaultOpenFuture(this, futureLock);
    String host;
    long port;
    String originator;
    try {
      host = buffer.getString();
      port = buffer.getUInt();
      originator = buffer.getString() + ":" + buffer.getUInt();
    } catch (RuntimeException e) {
      fail(f, new PortForwards.Refused(ForwardTarget.RULE, "malformed direct-tcpip request",
          SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED));
      return f;
    }
    ServerSession session = (ServerSession) getSession();
    try {
      forwards.executor().execute(() -> start(f, session, host, port, originator));
    } catch (RuntimeException e) {
      fail(f, PortForwards.Refused.failed("the gateway is shutting down"));
    }
    return f;
  }

  private void start(DefaultOpenFuture f, ServerSession session, String host, long port, String originator) {
    PortForwards.Forward fw;
    try {
      fw = forwards.open(session, host, port, originator);
    } catch (PortForwards.Refused r) {
      log.info("forward to {}:{} refused: {}", Text.quote(host), port, r.getMessage());
      fail(f, r);
      return;
    } catch (RuntimeException e) {
      log.warn("forward to {}:{} failed: {}", Text.quote(host), port, e.toString());
      fail(f, PortForwards.Refused.failed("internal error (" + e.getClass().getSimpleName() + ")"));
      return;
    }
    forward = fw;
    addCloseFutureListener(cf -> fw.close());
    try {
      signalChannelOpenSuccess();
      f.setOpened();
    } catch (RuntimeException e) {
      fw.close();
      close(true);
      return;
    }
    if (isClosing()) {
      fw.close();
      return;
    }
    fw.register(session, message -> cut(fw));
    forwards.executor().execute(() -> pump(fw));
  }

  private void fail(DefaultOpenFuture f, PortForwards.Refused r) {
    forwards.counters().forwardRefused();
    if (service instanceof RefusingConnectionService) {
      ((RefusingConnectionService) service).refusing(getRecipient(), r.getMessage());
    }
    SshChannelOpenException e = new SshChannelOpenException(getChannelId(), r.reasonCode, r.getMessage());
    signalChannelOpenFailure(e);
    f.setException(e);
    close(true);
  }

  /** The grant ended: stop the pod's side and close the channel, which closes the client's connection. */
  private void cut(PortForwards.Forward fw) {
    fw.close();
    close(false);
  }

  /** Pod to client, until the pod's side ends; then EOF and close. */
  private void pump(PortForwards.Forward fw) {
    byte[] buf = new byte[8192];
    try (OutputStream out = new ChannelOutputStream(this, getRemoteWindow(), log, SshConstants.SSH_MSG_CHANNEL_DATA,
        true)) {
      int r;
      while ((r = fw.fromPod.read(buf)) >= 0) {
        if (r > 0) {
          out.write(buf, 0, r);
          out.flush();
          fw.bytesOut.addAndGet(r);
        }
      }
    } catch (IOException e) {
      log.debug("forward {} ended: {}", fw, e.toString());
    }
    fw.close();
    close(false);
  }

  @Override
  protected void doWriteData(byte[] data, int off, long len) throws IOException {
    PortForwards.Forward fw = forward;
    if (fw == null) {
      throw new IOException("data before the forward was open");
    }
    try {
      fw.toPod.write(data, off, (int) len);
      fw.toPod.flush();
    } catch (IOException e) {
      fw.close();
      close(false);
      throw e;
    }
    fw.bytesIn.addAndGet(len);
    getLocalWindow().release(len);
  }

  @Override
  protected void doWriteExtendedData(byte[] data, int off, long len) throws IOException {
    throw new UnsupportedOperationException("direct-tcpip channels carry no extended data");
  }

  @Override
  public String toString() {
    PortForwards.Forward fw = forward;
    return "ForwardChannel{" + (fw == null ? "opening" : fw.toString()) + "}";
  }
}
