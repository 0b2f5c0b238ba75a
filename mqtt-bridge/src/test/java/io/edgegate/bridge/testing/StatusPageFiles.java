package io.edgegate.bridge.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a status page over HTTP, without a browser: every file it loads (the {@code src} and
 * {@code href} of its HTML, the {@code import}s of its scripts, transitively) is served with its
 * type and without a token; nothing is loaded from another origin; no inline script, inline style
 * or event-handler attribute is in its HTML (the Content-Security-Policy would refuse them).
 */
public final class StatusPageFiles {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private static final Pattern REFERENCE = Pattern.compile("(?:src|href)=\"([^\"]*)\"");
    private static final Pattern IMPORT = Pattern.compile("(?m)^\\s*(?:import|export)\\b[^;]*?from\\s+'([^']+)'");
    private static final Pattern INLINE = Pattern.compile(
            "<script(?![^>]*\\ssrc=)[^>]*>|<style\\b|\\sstyle=|\\son[a-z]+=|javascript:", Pattern.CASE_INSENSITIVE);
    private static final Map<String, String> TYPES = Map.of(
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml");

    private StatusPageFiles() {}

    /**
     * Fetches the page at {@code page} (ending in {@code /ui/}) and every file it loads.
     *
     * @return the names of the files loaded besides the page, scripts before the rest, in the order met
     */
    public static List<String> assertAllServed(URI page) throws IOException, InterruptedException {
        String html = fetch(page, "text/html; charset=utf-8");
        Matcher inline = INLINE.matcher(html);
        if (inline.find()) {
            throw new AssertionError("inline script or style in the page: " + inline.group());
        }
        Set<String> scripts = new LinkedHashSet<>();
        Set<String> others = new LinkedHashSet<>();
        Matcher m = REFERENCE.matcher(html);
        while (m.find()) {
            String ref = m.group(1);
            if (ref.contains(":") || ref.startsWith("/")) {
                throw new AssertionError("the page loads from outside its own directory: " + ref);
            }
            (ref.endsWith(".js") ? scripts : others).add(ref);
        }
        List<String> queue = new ArrayList<>(scripts);
        for (int i = 0; i < queue.size(); i++) {
            String source = fetch(page.resolve(queue.get(i)), TYPES.get("js"));
            Matcher imports = IMPORT.matcher(source);
            while (imports.find()) {
                String ref = imports.group(1);
                if (!ref.startsWith("./") || ref.substring(2).contains("/")) {
                    throw new AssertionError(queue.get(i) + " imports from outside its directory: " + ref);
                }
                if (scripts.add(ref.substring(2))) {
                    queue.add(ref.substring(2));
                }
            }
        }
        for (String other : others) {
            fetch(page.resolve(other), TYPES.get(other.substring(other.lastIndexOf('.') + 1)));
        }
        List<String> all = new ArrayList<>(scripts);
        all.addAll(others);
        return all;
    }

    private static String fetch(URI uri, String type) throws IOException, InterruptedException {
        HttpResponse<String> res = CLIENT.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new AssertionError(uri + " answered " + res.statusCode() + ": " + res.body());
        }
        String actual = res.headers().firstValue("Content-Type").orElse(null);
        if (type != null && !type.equals(actual)) {
            throw new AssertionError(uri + " served as " + actual + ", expected " + type);
        }
        return res.body();
    }
}
