// A small stand-in for Gerrit's "webhooks" plugin, built and installed by deploy/devgerrit.py
// into the throwaway development Gerrit that the end-to-end tests and the demo run.
//
// Why it exists: the upstream plugin is only distributed inside gerrit.war and on Gerrit's
// plugin CI, and neither can be downloaded on the project's machines (only the Gerrit jars
// published as Maven artifacts can). Its behaviour on the wire is small and documented, so this
// file reproduces it against the same plugin API, with the same plugin name and configuration:
//
//   * Body: the event exactly as Gerrit's stream-events carries it, i.e. the ProjectEvent
//     serialized by Gson with Gerrit's SupplierSerializer (this is what the upstream plugin's
//     default "gerrit" processor sends), POSTed with "Content-Type: application/json;
//     charset=utf-8" and an "X-Origin-Url: <gerrit.canonicalWebUrl>" header.
//   * Per project, file webhooks.config on refs/meta/config, inherited from parent projects:
//       [remote "NAME"]
//         url = http://...            (required)
//         event = patchset-created    (repeatable; no event line = every event)
//         connectionTimeout / socketTimeout / maxTries / retryInterval   (override the globals)
//   * Globally, gerrit.config [plugin "webhooks"]:
//       connectionTimeout (ms, default 5000), socketTimeout (ms, default 5000),
//       maxTries (default 5; attempts in total, 0 behaves like 1), retryInterval (ms, 1000),
//       threadPoolSize (default 1), allowedUrlPattern (repeatable regex; when present, only
//       URLs fully matching one of them are posted to).
//   * A delivery is successful on HTTP 200, 201, 202 or 204; other answers and I/O errors are
//     retried after retryInterval until maxTries attempts were made, then logged and dropped.
package devgerrit.webhooks;

import com.google.common.base.Supplier;
import com.google.common.flogger.FluentLogger;
import com.google.gerrit.extensions.annotations.PluginName;
import com.google.gerrit.extensions.events.LifecycleListener;
import com.google.gerrit.extensions.registration.DynamicSet;
import com.google.gerrit.lifecycle.LifecycleModule;
import com.google.gerrit.server.config.CanonicalWebUrl;
import com.google.gerrit.server.config.PluginConfig;
import com.google.gerrit.server.config.PluginConfigFactory;
import com.google.gerrit.server.events.Event;
import com.google.gerrit.server.events.EventListener;
import com.google.gerrit.server.events.ProjectEvent;
import com.google.gerrit.server.events.SupplierSerializer;
import com.google.gerrit.server.project.NoSuchProjectException;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.inject.Inject;
import com.google.inject.Singleton;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.eclipse.jgit.lib.Config;

/** Namespace for the plugin; Gerrit loads {@link Module} as named by the jar manifest. */
public final class Webhooks {
  private Webhooks() {}

  /** Registers the poster as an event listener and as a lifecycle listener (thread pool). */
  public static final class Module extends LifecycleModule {
    @Override
    protected void configure() {
      DynamicSet.bind(binder(), EventListener.class).to(Poster.class);
      listener().to(Poster.class);
    }
  }

  /** Connection settings of one remote: the global values, overridden per remote. */
  record Settings(int connectionTimeout, int socketTimeout, int maxTries, int retryInterval) {
    static Settings of(PluginConfig global, Config project, String remote) {
      return new Settings(
          pick(global, project, remote, "connectionTimeout", 5000),
          pick(global, project, remote, "socketTimeout", 5000),
          pick(global, project, remote, "maxTries", 5),
          pick(global, project, remote, "retryInterval", 1000));
    }

    private static int pick(
        PluginConfig global, Config project, String remote, String key, int fallback) {
      return project.getInt("remote", remote, key, global.getInt(key, fallback));
    }
  }

  /** Turns project events into HTTP deliveries according to webhooks.config. */
  @Singleton
  static final class Poster implements EventListener, LifecycleListener {
    private static final FluentLogger log = FluentLogger.forEnclosingClass();
    private static final Gson GSON =
        new GsonBuilder().registerTypeAdapter(Supplier.class, new SupplierSerializer()).create();
    private static final Set<Integer> SUCCESS = Set.of(200, 201, 202, 204);

    private final PluginConfigFactory configs;
    private final String pluginName;
    private final String originUrl;
    private final Map<Integer, HttpClient> clientsByConnectTimeout = new ConcurrentHashMap<>();
    private volatile ScheduledExecutorService executor;

    @Inject
    Poster(
        PluginConfigFactory configs,
        @PluginName String pluginName,
        @CanonicalWebUrl String originUrl) {
      this.configs = configs;
      this.pluginName = pluginName;
      this.originUrl = originUrl;
    }

    @Override
    public void start() {
      int threads = Math.max(1, configs.getFromGerritConfig(pluginName).getInt("threadPoolSize", 1));
      executor =
          Executors.newScheduledThreadPool(
              threads,
              runnable -> {
                Thread thread = new Thread(runnable, pluginName + "-poster");
                thread.setDaemon(true);
                return thread;
              });
    }

    @Override
    public void stop() {
      executor.shutdownNow();
    }

    @Override
    public void onEvent(Event event) {
      if (!(event instanceof ProjectEvent projectEvent)) {
        return;
      }
      Config project;
      try {
        project =
            configs.getProjectPluginConfigWithInheritance(
                projectEvent.getProjectNameKey(), pluginName);
      } catch (NoSuchProjectException e) {
        log.atFine().log("Ignoring %s for unknown project", event.getType());
        return;
      }
      PluginConfig global = configs.getFromGerritConfig(pluginName);
      String[] allowedUrls = global.getStringList("allowedUrlPattern");
      String body = null;
      for (String remote : project.getSubsections("remote")) {
        String url = project.getString("remote", remote, "url");
        if (url == null || url.isEmpty()) {
          log.atWarning().log("remote.%s.url is not set, skipping this remote", remote);
          continue;
        }
        if (!wants(project.getStringList("remote", remote, "event"), event.getType())) {
          continue;
        }
        if (!allowed(allowedUrls, url)) {
          log.atWarning().log("remote.%s.url %s matches no allowedUrlPattern", remote, url);
          continue;
        }
        if (body == null) {
          body = GSON.toJson(event);
        }
        new Delivery(url, body, Settings.of(global, project, remote)).schedule(0);
      }
    }

    private static boolean wants(String[] events, String type) {
      return events.length == 0 || Arrays.asList(events).contains(type);
    }

    private static boolean allowed(String[] patterns, String url) {
      if (patterns.length == 0) {
        return true;
      }
      for (String pattern : patterns) {
        try {
          if (Pattern.compile(pattern).matcher(url).matches()) {
            return true;
          }
        } catch (PatternSyntaxException e) {
          log.atWarning().log("Ignoring invalid allowedUrlPattern %s", pattern);
        }
      }
      return false;
    }

    private HttpClient client(int connectionTimeout) {
      return clientsByConnectTimeout.computeIfAbsent(
          connectionTimeout,
          timeout ->
              HttpClient.newBuilder()
                  // HTTP/1.1 only: no h2c upgrade dance with simple receivers.
                  .version(HttpClient.Version.HTTP_1_1)
                  .connectTimeout(Duration.ofMillis(timeout))
                  .build());
    }

    /** One event for one remote, with its own attempt counter. */
    private final class Delivery implements Runnable {
      private final String url;
      private final String body;
      private final Settings settings;
      private int attempts;

      Delivery(String url, String body, Settings settings) {
        this.url = url;
        this.body = body;
        this.settings = settings;
      }

      void schedule(long delayMillis) {
        executor.schedule(this, delayMillis, TimeUnit.MILLISECONDS);
      }

      @Override
      public void run() {
        attempts++;
        String failure;
        try {
          HttpRequest request =
              HttpRequest.newBuilder(URI.create(url))
                  .timeout(Duration.ofMillis(settings.socketTimeout()))
                  .header("Content-Type", "application/json; charset=utf-8")
                  .header("X-Origin-Url", originUrl)
                  .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                  .build();
          HttpResponse<String> response =
              client(settings.connectionTimeout()).send(request, HttpResponse.BodyHandlers.ofString());
          if (SUCCESS.contains(response.statusCode())) {
            return;
          }
          failure = "HTTP " + response.statusCode();
        } catch (IOException | IllegalArgumentException e) {
          failure = e.toString();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        if (attempts < settings.maxTries()) {
          log.atFine().log("Retrying %s in %d ms: %s", url, settings.retryInterval(), failure);
          schedule(settings.retryInterval());
        } else {
          log.atWarning().log("Giving up on %s after %d attempts: %s", url, attempts, failure);
        }
      }
    }
  }
}
