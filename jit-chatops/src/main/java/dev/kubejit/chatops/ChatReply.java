package dev.kubejit.chatops;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;

/** The answer to one inbound chat request: status, media type and body, for the host server to send as is. */
public final class ChatReply {
  private final int status;
  private final String contentType;
  private final byte[] body;

  private ChatReply(int status, String contentType, byte[] body) {
    this.status = status;
    this.contentType = requireNonNull(contentType, "contentType");
    this.body = body.clone();
  }

  static ChatReply json(int status, String json) {
    return new ChatReply(status, "application/json; charset=utf-8", json.getBytes(StandardCharsets.UTF_8));
  }

  static ChatReply text(int status, String text) {
    return new ChatReply(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
  }

  /** The HTTP status. */
  public int status() {
    return status;
  }

  /** The {@code Content-Type} to send. */
  public String contentType() {
    return contentType;
  }

  /** A copy of the body. */
  public byte[] body() {
    return body.clone();
  }

  @Override
  public String toString() {
    return "ChatReply{" + status + ", " + contentType + ", " + body.length + " bytes}";
  }
}
