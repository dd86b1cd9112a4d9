package dev.kubejit.chatops;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers outbound HTTP messages (Slack API calls, webhooks) from one worker thread, in the order
 * they were offered, without ever blocking the caller.
 *
 * <p>{@link #offer} puts a message on a bounded queue and returns at once; when the queue is full
 * the message is dropped, counted ({@link #dropped()}) and logged. The worker sends each message
 * and retries on HTTP 429, 5xx and I/O errors, waiting {@code Retry-After} seconds when the
 * receiver says so and otherwise an exponential backoff with jitter (between half and all of
 * {@code initialBackoff * 2^(attempt-1)}, at most {@code maxBackoff}). A message that still fails
 * after {@code maxAttempts} attempts, or whose next wait would pass its {@code retryBudget}
 * (counted from its first attempt), is dropped, counted and logged. Any other status is a
 * permanent failure: dropped at once. Order is kept: a message waits for the one before it, so a
 * thread reply never overtakes the message that starts the thread.
 *
 * <p>Log lines name the message by its description, never by its content, headers or URL query.
 */
public final class DeliveryQueue implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DeliveryQueue.class);

  /** Waits; replaced in tests by a clock that advances without waiting. */
  @FunctionalInterface
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  /** One message: how to build its request (at send time) and what to do with a 2xx answer. */
  interface Delivery {
    /** Builds the request; called before each attempt, so it may use what earlier deliveries learned. */
    HttpRequest request();

    /** Called with the 2xx response. */
    default void delivered(HttpResponse<String> response) {}

    /** A description for log lines: what and where, never content or secrets. */
    String describe();
  }

  private final String name;
  private final HttpClient http;
  private final Clock clock;
  private final Sleeper sleeper;
  private final Random random;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration retryBudget;
  private final Duration requestTimeout;
  private final BlockingQueue<Delivery> queue;
  private final Thread worker;
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong retried = new AtomicLong();
  private volatile boolean closed;

  private DeliveryQueue(Builder b) {
    this.name = b.name;
    this.http = b.http != null ? b.http
        : HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NEVER).build();
    this.clock = b.clock;
    this.sleeper = b.sleeper;
    this.random = b.random;
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.retryBudget = b.retryBudget;
    this.requestTimeout = b.requestTimeout;
    this.queue = new ArrayBlockingQueue<>(b.capacity);
    this.worker = new Thread(this::run, "kubejit-delivery-" + name);
    this.worker.setDaemon(true);
    this.worker.start();
  }

  /** A builder for a queue whose log lines and thread carry {@code name} (for example {@code slack}). */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /**
   * Queues a message; never blocks. Returns false (and counts and logs a drop) when the queue is
   * full or closed.
   */
  boolean offer(Delivery d) {
    requireNonNull(d, "delivery");
    if (closed || !queue.offer(d)) {
      long n = dropped.incrementAndGet();
      log.warn("{}: dropped {}: the delivery queue is {} ({} dropped so far)", name, d.describe(),
          closed ? "closed" : "full", n);
      return false;
    }
    return true;
  }

  /** Messages delivered (2xx). */
  public long delivered() {
    return delivered.get();
  }

  /** Messages dropped: queue full or closed, retries exhausted, or a permanent failure. */
  public long dropped() {
    return dropped.get();
  }

  /** Retries made (attempts after the first). */
  public long retried() {
    return retried.get();
  }

  /** Messages waiting (not counting the one being sent). */
  public int pending() {
    return queue.size();
  }

  private void run() {
    while (!closed || !queue.isEmpty()) {
      Delivery d;
      try {
        d = queue.poll(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (d == null) {
        continue;
      }
      try {
        send(d);
      } catch (InterruptedException e) {
        dropped.incrementAndGet();
        log.warn("{}: dropped {}: shutting down", name, d.describe());
        break;
      } catch (RuntimeException e) {
        dropped.incrementAndGet();
        log.warn("{}: dropped {}: {}", name, d.describe(), e.getClass().getSimpleName());
      }
    }
    for (Delivery left; (left = queue.poll()) != null; ) {
      dropped.incrementAndGet();
      log.warn("{}: dropped {}: shutting down", name, left.describe());
    }
  }

  private void send(Delivery d) throws InterruptedException {
    Instant first = clock.instant();
    for (int attempt = 1; ; attempt++) {
      Optional<Duration> retryAfter = Optional.empty();
      String why;
      try {
        HttpRequest req = d.request();
        HttpRequest timed = HttpRequest.newBuilder(req, (n, v) -> true).timeout(requestTimeout).build();
        HttpResponse<String> r = http.send(timed, HttpResponse.BodyHandlers.ofString());
        int s = r.statusCode();
        if (s >= 200 && s < 300) {
          delivered.incrementAndGet();
          d.delivered(r);
          return;
        }
        if (s != 429 && s < 500) {
          dropped.incrementAndGet();
          log.warn("{}: dropped {}: HTTP {} is not retried", name, d.describe(), s);
          return;
        }
        why = "HTTP " + s;
        retryAfter = r.headers().firstValue("Retry-After").flatMap(DeliveryQueue::seconds);
      } catch (IOException e) {
        why = e.getClass().getSimpleName();
      }
      Duration wait = retryAfter.orElseGet(backoff(attempt));
      Duration spent = Duration.between(first, clock.instant());
      if (attempt >= maxAttempts || spent.plus(wait).compareTo(retryBudget) > 0) {
        long n = dropped.incrementAndGet();
        log.warn("{}: dropped {} after {} attempt(s) over {} s: last {} ({} dropped so far)", name, d.describe(),
            attempt, spent.toSeconds(), why, n);
        return;
      }
      log.info("{}: {} failed ({}), attempt {}; retrying in {} ms", name, d.describe(), why, attempt, wait.toMillis());
      retried.incrementAndGet();
      sleeper.sleep(wait);
    }
  }

  private java.util.function.Supplier<Duration> backoff(int attempt) {
    return () -> {
      long cap = maxBackoff.toMillis();
      long base = Math.min(cap, initialBackoff.toMillis() << Math.min(attempt - 1, 30));
      long jittered = base / 2 + (long) (random.nextDouble() * (base - base / 2 + 1));
      return Duration.ofMillis(Math.min(cap, jittered));
    };
  }

  static Optional<Duration> seconds(String retryAfter) {
    String v = retryAfter.strip();
    if (!v.matches("[0-9]{1,6}")) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofSeconds(Long.parseLong(v)));
  }

  /**
   * Stops taking messages and gives the worker up to 5 seconds to send what is queued; whatever is
   * left (including a message waiting to retry) is dropped and counted.
   */
  @Override
  public void close() {
    closed = true;
    try {
      worker.join(5_000);
      if (worker.isAlive()) {
        worker.interrupt();
        worker.join(5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "DeliveryQueue{" + name + ", pending " + queue.size() + ", delivered " + delivered + ", dropped " + dropped
        + ", retried " + retried + "}";
  }

  /** Builds a {@link DeliveryQueue}; every option has a default. */
  public static final class Builder {
    private final String name;
    private HttpClient http;
    private Clock clock = Clock.systemUTC();
    private Sleeper sleeper = d -> Thread.sleep(Math.max(0, d.toMillis()));
    private Random random = new Random();
    private int capacity = 1000;
    private int maxAttempts = 10;
    private Duration initialBackoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofSeconds(60);
    private Duration retryBudget = Duration.ofMinutes(5);
    private Duration requestTimeout = Duration.ofSeconds(10);

    private Builder(String name) {
      if (!requireNonNull(name, "name").matches("[a-z0-9-]{1,40}")) {
        throw new IllegalArgumentException("a queue name is 1 to 40 of [a-z0-9-]");
      }
      this.name = name;
    }

    /** The HTTP client (default: a new one, 5 s connect timeout, no redirects). */
    public Builder httpClient(HttpClient http) {
      this.http = requireNonNull(http, "http");
      return this;
    }

    /** The clock that measures the retry budget (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    Builder sleeper(Sleeper sleeper) {
      this.sleeper = requireNonNull(sleeper, "sleeper");
      return this;
    }

    Builder random(Random random) {
      this.random = requireNonNull(random, "random");
      return this;
    }

    /** How many messages may wait (default 1000); more are dropped. */
    public Builder capacity(int capacity) {
      if (capacity < 1 || capacity > 1_000_000) {
        throw new IllegalArgumentException("capacity must be 1 to 1000000: " + capacity);
      }
      this.capacity = capacity;
      return this;
    }

    /** Attempts per message, the first included (default 10). */
    public Builder maxAttempts(int attempts) {
      if (attempts < 1 || attempts > 100) {
        throw new IllegalArgumentException("maxAttempts must be 1 to 100: " + attempts);
      }
      this.maxAttempts = attempts;
      return this;
    }

    /** The first backoff (default 1 s) and the largest (default 60 s). */
    public Builder backoff(Duration initial, Duration max) {
      if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("backoff needs 0 < initial <= max");
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /** How long one message may keep being retried, from its first attempt (default 5 minutes). */
    public Builder retryBudget(Duration budget) {
      if (budget.isNegative() || budget.isZero()) {
        throw new IllegalArgumentException("retry budget must be positive");
      }
      this.retryBudget = budget;
      return this;
    }

    /** The timeout of one attempt (default 10 s). */
    public Builder requestTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("request timeout must be positive");
      }
      this.requestTimeout = timeout;
      return this;
    }

    /** Starts the worker and returns the queue. */
    public DeliveryQueue build() {
      return new DeliveryQueue(this);
    }
  }
}
