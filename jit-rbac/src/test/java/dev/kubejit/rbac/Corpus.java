package dev.kubejit.rbac;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** The committed RBAC corpora ({@code corpus/escalation-corpus.yaml}, {@code corpus/clean-corpus.yaml}). */
final class Corpus {
  private Corpus() {}

  /** A request the real API server must allow or deny. */
  static final class Request {
    final String user;
    final List<String> groups;
    final String verb;
    final String apiGroup;
    final String resource;
    final String namespace;
    final String name;
    final String path;

    Request(Map<?, ?> m) {
      user = str(m.get("user"));
      groups = strings(m.get("groups"));
      verb = str(m.get("verb"));
      apiGroup = m.get("apiGroup") == null ? "" : str(m.get("apiGroup"));
      resource = str(m.get("resource"));
      namespace = str(m.get("namespace"));
      name = str(m.get("name"));
      path = str(m.get("path"));
    }

    AccessQuery query() {
      AccessQuery.Builder b = AccessQuery.builder(user).groups(groups).exactGroups();
      b.target(verb, apiGroup, path != null ? path : resource);
      if (namespace != null) {
        b.namespace(namespace);
      }
      if (name != null) {
        b.name(name);
      }
      return b.build();
    }

    @Override
    public String toString() {
      return user + groups + " " + verb + " " + (path != null ? path
          : (apiGroup.isEmpty() ? "" : apiGroup + "/") + resource + (name == null ? "" : " " + name)
              + (namespace == null ? "" : " -n " + namespace));
    }
  }

  /** One corpus entry. */
  static final class Entry {
    final String id;
    final String why;
    final boolean apply;
    final Set<String> errors;
    final Set<String> warnings;
    final List<Request> allows;
    final List<Request> denies;
    final String objects;

    Entry(Map<?, ?> m) {
      id = str(m.get("id"));
      why = str(m.get("why"));
      apply = !Boolean.FALSE.equals(m.get("apply"));
      errors = new TreeSet<>(strings(required(m, "errors")));
      warnings = new TreeSet<>(strings(required(m, "warnings")));
      allows = requests(m.get("allows"));
      denies = requests(m.get("denies"));
      objects = str(required(m, "objects"));
    }

    private static Object required(Map<?, ?> m, String key) {
      if (!m.containsKey(key)) {
        throw new IllegalStateException("corpus entry " + m.get("id") + " lacks " + key);
      }
      return m.get(key);
    }

    @Override
    public String toString() {
      return id;
    }
  }

  static List<Entry> load(String name) {
    try (InputStream in = Corpus.class.getResourceAsStream("corpus/" + name)) {
      if (in == null) {
        throw new IllegalStateException("no corpus " + name);
      }
      Object doc = new Yaml(new SafeConstructor(new LoaderOptions()))
          .load(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      List<Entry> out = new ArrayList<>();
      for (Object o : (List<?>) doc) {
        out.add(new Entry((Map<?, ?>) o));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<Request> requests(Object o) {
    List<Request> out = new ArrayList<>();
    if (o != null) {
      for (Object x : (List<?>) o) {
        out.add(new Request((Map<?, ?>) x));
      }
    }
    return out;
  }

  private static String str(Object o) {
    return o == null ? null : o.toString();
  }

  private static List<String> strings(Object o) {
    List<String> out = new ArrayList<>();
    if (o != null) {
      for (Object x : (List<?>) o) {
        out.add(x.toString());
      }
    }
    return out;
  }
}
