package io.edgegate.ui;

import io.helidon.common.uri.UriPath;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.PathMatcher;
import io.helidon.http.PathMatchers;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's live status page at {@code /ui/}: a handful of static files (HTML, CSS, JavaScript,
 * an icon) read from the class path once, at start, and served from memory. The files hold no
 * data and are served without a token; the page reads the service's own APIs with the token its
 * user signs in with, so it shows exactly what that token may read.
 *
 * <p>Files: the page's own files are resources of the service, under {@code ui/} beside the class
 * given to {@link #of}; {@link #SHARED} (the sign-in, the API client, the live watch and the look
 * both services' pages share) are this package's resources. The page's {@code index.html} is this
 * package's {@code shell.html} (the head, the bar, the sign-in form and the frame of the app
 * both pages have) with the service's parts put in its slots: {@code ui/page.html} holds one
 * {@code <template id="slot">} a slot ({@code {{slot}}} in the shell), composed once, at start.
 * Only the files named are served; any other path under {@code /ui/} is a 404.
 *
 * <p>Every answer carries a strict Content-Security-Policy (everything from this origin only, no
 * inline script or style, no plugins, no forms, never framed), {@code X-Content-Type-Options:
 * nosniff} and {@code Referrer-Policy: no-referrer}; files are revalidated on every load
 * ({@code Cache-Control: no-cache} with an {@code ETag}), so a page upgraded with its service is
 * never mixed with an old script. Immutable after construction: thread-safe.
 */
public final class StatusPage implements HttpService {
    /** Where the page lives; {@code /ui} alone is redirected here. */
    public static final String PATH = "/ui/";

    /** The files both services' pages use, resources of this package. */
    public static final List<String> SHARED = List.of("common.js", "common.css", "icon.svg");

    /**
     * {@code default-src 'self'} with nothing inline (no {@code 'unsafe-inline'}, no
     * {@code 'unsafe-eval'}); no plugins, no {@code <base>}, no form submission (the sign-in form
     * is handled by script and its field has no name, so it could not submit the token anyway),
     * never framed (clickjacking).
     */
    public static final String CONTENT_SECURITY_POLICY =
            "default-src 'self'; object-src 'none'; base-uri 'none'; " + "form-action 'none'; frame-ancestors 'none'";

    private static final List<Header> SECURITY_HEADERS = List.of(
            HeaderValues.createCached("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            HeaderValues.createCached("X-Content-Type-Options", "nosniff"),
            HeaderValues.createCached("Referrer-Policy", "no-referrer"),
            HeaderValues.createCached("X-Frame-Options", "DENY"),
            HeaderValues.createCached("Cross-Origin-Opener-Policy", "same-origin"),
            HeaderValues.createCached(HeaderNames.CACHE_CONTROL, "no-cache"));

    private static final Map<String, String> CONTENT_TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml");

    /** The shared page around each service's parts; its slots are written {@code {{name}}}. */
    static final String SHELL = "shell.html";

    /** A service's parts of its page, beside its other files. */
    static final String PARTS = "page.html";

    private static final Pattern SLOT = Pattern.compile("\\{\\{([a-z-]+)}}");
    private static final Pattern PART = Pattern.compile("<template id=\"([a-z-]+)\">(.*?)</template>", Pattern.DOTALL);

    /** One file as served. */
    private record File(byte[] content, Header contentType, String etag) {}

    private final Map<String, File> files;

    private StatusPage(Map<String, File> files) {
        this.files = files;
    }

    /**
     * The page of a service: {@code index.html} (the shared shell with the parts in {@code
     * ui/page.html}) and {@code pageFiles}, resources under {@code ui/} in the package of {@code
     * owner}, plus the {@link #SHARED} files.
     *
     * @throws IllegalStateException when a file is missing from the class path, or the parts do not
     *     fill the shell's slots exactly (a packaging error)
     */
    public static StatusPage of(Class<?> owner, String... pageFiles) {
        Map<String, File> files = new LinkedHashMap<>();
        String parts = new String(read(owner, "ui/" + PARTS), StandardCharsets.UTF_8);
        String shell = new String(read(StatusPage.class, SHELL), StandardCharsets.UTF_8);
        String index = compose(shell, parts, owner.getPackageName().replace('.', '/') + "/ui/" + PARTS);
        files.put("index.html", file("index.html", index.getBytes(StandardCharsets.UTF_8)));
        for (String name : pageFiles) {
            files.put(name, load(owner, "ui/" + name));
        }
        for (String name : SHARED) {
            files.put(name, load(StatusPage.class, name));
        }
        return new StatusPage(Map.copyOf(files));
    }

    /** Whether a path is the page's: {@code /ui} or anything under {@code /ui/}. */
    public static boolean owns(String rawPath) {
        return rawPath.startsWith(PATH) || rawPath.equals("/ui");
    }

    @Override
    public void routing(HttpRules rules) {
        PathMatcher any = PathMatchers.any();
        PathMatcher page = new PathMatcher() {
            @Override
            public PathMatchers.MatchResult match(UriPath path) {
                return owns(path.rawPath()) ? any.match(path) : PathMatchers.MatchResult.notAccepted();
            }

            @Override
            public PathMatchers.PrefixMatchResult prefixMatch(UriPath path) {
                return owns(path.rawPath()) ? any.prefixMatch(path) : PathMatchers.PrefixMatchResult.notAccepted();
            }
        };
        rules.route(HttpRoute.builder().path(page).handler(this::serve).build());
    }

    private void serve(ServerRequest req, ServerResponse res) {
        SECURITY_HEADERS.forEach(res::header);
        Method method = req.prologue().method();
        if (method != Method.GET) {
            res.header(HeaderNames.ALLOW, "GET");
            plain(
                    res,
                    Status.METHOD_NOT_ALLOWED_405,
                    "method: " + method.text() + " not allowed on the status page" + " (allowed: GET)");
            return;
        }
        String path = req.path().rawPath();
        if (path.equals("/ui")) {
            // The page's files are named relative to /ui/.
            res.status(Status.PERMANENT_REDIRECT_308)
                    .header(HeaderNames.LOCATION, PATH)
                    .send();
            return;
        }
        String name = path.length() == PATH.length() ? "index.html" : path.substring(PATH.length());
        File file = files.get(name);
        if (file == null) {
            plain(res, Status.NOT_FOUND_404, "not found: the status page has no file " + shorten(name));
            return;
        }
        res.header(HeaderNames.ETAG, file.etag);
        String known = req.headers().first(HeaderNames.IF_NONE_MATCH).orElse(null);
        if (file.etag.equals(known)) {
            res.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        res.header(file.contentType);
        res.send(file.content);
    }

    private static void plain(ServerResponse res, Status status, String message) {
        res.status(status)
                .header(HeaderValues.CONTENT_TYPE_TEXT_PLAIN)
                .send((message + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static String shorten(String s) {
        String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() <= 64 ? printable : printable.substring(0, 64) + "...";
    }

    /**
     * The shell with each {@code {{slot}}} replaced by the part of that name (a {@code <template
     * id="slot">} in {@code parts}, its content as written).
     *
     * @throws IllegalStateException naming {@code source} when a slot has no part, a part is given
     *     twice, or a part fills no slot
     */
    static String compose(String shell, String parts, String source) {
        Map<String, String> given = new LinkedHashMap<>();
        Matcher part = PART.matcher(parts);
        while (part.find()) {
            if (given.put(part.group(1), part.group(2)) != null) {
                throw new IllegalStateException("status page part given twice: " + part.group(1) + " in " + source);
            }
        }
        Set<String> used = new HashSet<>();
        Matcher slot = SLOT.matcher(shell);
        StringBuilder out = new StringBuilder(shell.length() + parts.length());
        while (slot.find()) {
            String value = given.get(slot.group(1));
            if (value == null) {
                throw new IllegalStateException("status page part missing: " + slot.group(1) + " in " + source);
            }
            used.add(slot.group(1));
            slot.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        slot.appendTail(out);
        for (String name : given.keySet()) {
            if (!used.contains(name)) {
                throw new IllegalStateException(
                        "status page part fills no slot of the shell: " + name + " in " + source);
            }
        }
        return out.toString();
    }

    private static File load(Class<?> owner, String resource) {
        return file(resource, read(owner, resource));
    }

    private static byte[] read(Class<?> owner, String resource) {
        try (InputStream in = owner.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("status page file missing from the class path: "
                        + owner.getPackageName().replace('.', '/') + "/" + resource);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read status page file " + resource, e);
        }
    }

    private static File file(String resource, byte[] content) {
        String extension = resource.substring(resource.lastIndexOf('.') + 1);
        String type = CONTENT_TYPES.get(extension);
        if (type == null) {
            throw new IllegalStateException("status page file of unknown type: " + resource);
        }
        return new File(content, HeaderValues.createCached(HeaderNames.CONTENT_TYPE, type), etag(content));
    }

    private static String etag(byte[] content) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(content);
            return "\"" + HexFormat.of().formatHex(digest, 0, 12) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
