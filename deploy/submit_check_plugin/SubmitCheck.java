// owners-submit-check: a Gerrit plugin that asks the owners service for a fresh verdict on the
// exact revision being merged, and refuses the merge unless the answer is APPROVED.
//
// Why: the bot's +1 on Owner-Approval is a cached verdict. It goes stale when an input changes
// before the bot re-evaluates (a reviewer removed, a vote deleted, OWNERS.yaml or a Gerrit group
// edited, an abandoned change restored and submitted at once), and a submit in that window would
// merge on the stale vote. Gerrit calls every MergeValidationListener in the submit, after its
// own submit requirements and before any ref moves; a listener that throws
// MergeValidationException makes the submit fail with HTTP 409 and the exception's message.
//
// Built by deploy/devgerrit.py like the webhooks stand-in (javac against gerrit-plugin-api, one
// jar, Gerrit-ApiType: plugin). The same source compiles against 3.10 (--release 17) and 3.11
// (--release 21, a JDK 21+); a jar serves the sites of the minor version it was compiled for.
//
// Configuration, re-read when the files change (no restart needed, e.g. to rotate the token):
//   gerrit.config   [plugin "owners-submit-check"]
//                     url = http://127.0.0.1:8080/submit-check   (required)
//                     timeout = 5s   (whole check, connect + answer; default 5 s)
//   secure.config   [plugin "owners-submit-check"]
//                     token = <the service's OWNERS_WEBHOOK_TOKEN>   (required)
// The token goes through Gerrit's SecureStore (so an encrypted secure store works too) and is
// only ever sent in the Authorization header; it is in no log line and no message.
//
// Fail closed: no URL or token, the service unreachable, too slow, answering anything but
// HTTP 200 with verdict APPROVED: the submit is refused, with a message saying why. Which
// projects are enforced is the service's decision (it answers APPROVED for projects outside
// OWNERS_PROJECTS), so this plugin needs no project list of its own.
package owners.submitcheck;

import com.google.common.flogger.FluentLogger;
import com.google.gerrit.entities.BranchNameKey;
import com.google.gerrit.entities.PatchSet;
import com.google.gerrit.extensions.annotations.PluginName;
import com.google.gerrit.extensions.registration.DynamicSet;
import com.google.gerrit.server.IdentifiedUser;
import com.google.gerrit.server.config.ConfigUtil;
import com.google.gerrit.server.config.SitePaths;
import com.google.gerrit.server.git.CodeReviewCommit;
import com.google.gerrit.server.git.validators.MergeValidationException;
import com.google.gerrit.server.git.validators.MergeValidationListener;
import com.google.gerrit.server.project.ProjectState;
import com.google.gerrit.server.securestore.SecureStore;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.inject.AbstractModule;
import com.google.inject.Inject;
import com.google.inject.Singleton;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.jgit.errors.ConfigInvalidException;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileBasedConfig;
import org.eclipse.jgit.util.FS;

/** Namespace for the plugin; Gerrit loads {@link Module} as named by the jar manifest. */
public final class SubmitCheck {
  private SubmitCheck() {}

  /** Registers the checker as a merge validator. */
  public static final class Module extends AbstractModule {
    @Override
    protected void configure() {
      DynamicSet.bind(binder(), MergeValidationListener.class).to(Checker.class);
    }
  }

  /** The settings in force for one check. */
  record Settings(String url, String token, long timeoutMillis) {}

  /** Asks the owners service about each change being merged. */
  @Singleton
  static final class Checker implements MergeValidationListener {
    private static final FluentLogger log = FluentLogger.forEnclosingClass();
    private static final long DEFAULT_TIMEOUT_MS = 5000;
    private static final int MAX_REASON = 400;

    private final String pluginName;
    private final SecureStore secureStore;
    private final FileBasedConfig gerritConfig;
    private final HttpClient http;

    @Inject
    Checker(@PluginName String pluginName, SitePaths site, SecureStore secureStore) {
      this.pluginName = pluginName;
      this.secureStore = secureStore;
      this.gerritConfig = new FileBasedConfig(site.gerrit_config.toFile(), FS.DETECTED);
      // HTTP/1.1: the service is a plain WSGI server; h2c upgrades only add a round trip.
      this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    /** gerrit.config and the token, reloaded when their files changed since the last check. */
    private synchronized Settings settings() throws MergeValidationException {
      try {
        if (gerritConfig.isOutdated()) {
          gerritConfig.load();
        }
      } catch (IOException | ConfigInvalidException e) {
        throw refuse("gerrit.config cannot be read (" + e.getClass().getSimpleName() + ")");
      }
      if (secureStore.isOutdated()) {
        secureStore.reload();
      }
      String url = gerritConfig.getString("plugin", pluginName, "url");
      String token = secureStore.get("plugin", pluginName, "token");
      long timeout =
          ConfigUtil.getTimeUnit(
              gerritConfig, "plugin", pluginName, "timeout", DEFAULT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      if (url == null || url.isBlank()) {
        throw refuse(
            "the submit check has no service URL (plugin." + pluginName + ".url in gerrit.config)");
      }
      if (token == null || token.isBlank()) {
        throw refuse(
            "the submit check has no token (plugin." + pluginName + ".token in secure.config)");
      }
      return new Settings(url.trim(), token.trim(), Math.max(100, timeout));
    }

    @Override
    public void onPreMerge(
        Repository repo,
        CodeReviewCommit.CodeReviewRevWalk rw,
        CodeReviewCommit commit,
        ProjectState destProject,
        BranchNameKey destBranch,
        PatchSet.Id patchSetId,
        IdentifiedUser caller)
        throws MergeValidationException {
      long started = System.nanoTime();
      String project = destBranch.project().get();
      int change = patchSetId.changeId().get();
      String revision = commit.name();
      String what = "submit check of " + project + "~" + change + "@" + revision.substring(0, 10);
      String outcome;
      try {
        Settings settings = settings();
        JsonObject body = new JsonObject();
        body.addProperty("project", project);
        body.addProperty("change", change);
        body.addProperty("patchset", patchSetId.get());
        body.addProperty("revision", revision);
        body.addProperty("branch", destBranch.branch());
        outcome = ask(settings, body);
      } catch (MergeValidationException e) {
        log.atInfo().log("%s refused in %d ms: %s", what, millisSince(started), e.getMessage());
        throw e;
      }
      log.atInfo().log("%s: %s in %d ms", what, outcome, millisSince(started));
    }

    private static long millisSince(long started) {
      return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    }

    /** The service's verdict when it is APPROVED; otherwise a MergeValidationException. */
    private String ask(Settings settings, JsonObject body) throws MergeValidationException {
      Duration timeout = Duration.ofMillis(settings.timeoutMillis());
      String seconds = seconds(settings.timeoutMillis());
      HttpRequest request;
      try {
        request =
            HttpRequest.newBuilder(URI.create(settings.url()))
                .timeout(timeout)
                .header("Content-Type", "application/json; charset=utf-8")
                .header("Authorization", "Bearer " + settings.token())
                .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8))
                .build();
      } catch (IllegalArgumentException e) {
        throw refuse("the submit check's service URL is invalid");
      }
      HttpResponse<String> response;
      try {
        // sendAsync + get(timeout) bounds the whole exchange, connecting included: the
        // request timeout alone does not cover the connect phase.
        response =
            http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))
                .get(settings.timeoutMillis(), TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw refuse(
            "the owners service did not answer in " + seconds + "; submits are refused until it"
                + " does");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw refuse("the submit check was interrupted; try again");
      } catch (java.util.concurrent.ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof HttpConnectTimeoutException || cause instanceof HttpTimeoutException) {
          throw refuse(
              "the owners service did not answer in " + seconds + "; submits are refused until"
                  + " it does");
        }
        if (cause instanceof ConnectException) {
          throw refuse(
              "the owners service is unreachable (connection refused); submits are refused until"
                  + " it answers");
        }
        throw refuse(
            "the owners service could not be asked ("
                + (cause == null ? "error" : cause.getClass().getSimpleName())
                + "); submits are refused until it answers");
      }
      JsonObject answer = parse(response.body());
      String verdict = string(answer, "verdict");
      String reason = oneLine(string(answer, "reason"));
      if (response.statusCode() == 200 && "APPROVED".equals(verdict)) {
        return verdict;
      }
      if (verdict == null) {
        throw refuse(
            "the owners service answered HTTP " + response.statusCode() + " without a verdict");
      }
      if (response.statusCode() == 200) {
        throw refuse("not approved by the owners (" + verdict + ")" + because(reason));
      }
      throw refuse(
          "the owners service could not check this change (HTTP "
              + response.statusCode()
              + ")"
              + because(reason));
    }

    private static JsonObject parse(String text) {
      try {
        JsonElement element = JsonParser.parseString(text);
        return element.isJsonObject() ? element.getAsJsonObject() : new JsonObject();
      } catch (RuntimeException e) {
        return new JsonObject();
      }
    }

    private static String string(JsonObject object, String key) {
      JsonElement value = object.get(key);
      return value != null && value.isJsonPrimitive() ? value.getAsString() : null;
    }

    private static String because(String reason) {
      return reason == null || reason.isEmpty() ? "" : ": " + reason;
    }

    /** The service's reason as one printable line of bounded length. */
    private static String oneLine(String text) {
      if (text == null) {
        return null;
      }
      String flat = text.replaceAll("\\p{Cntrl}+", " ").trim();
      return flat.length() <= MAX_REASON ? flat : flat.substring(0, MAX_REASON - 3) + "...";
    }

    private static String seconds(long millis) {
      return millis % 1000 == 0 ? (millis / 1000) + " s" : String.format("%.1f s", millis / 1000.0);
    }

    private static MergeValidationException refuse(String why) {
      return new MergeValidationException("owners: " + why);
    }
  }
}
