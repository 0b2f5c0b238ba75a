package io.edgegate.gateway.proxy;

import io.helidon.http.HeaderName;
import io.helidon.http.Method;
import java.util.Arrays;

/**
 * The head of one HTTP/1.1 request as the lean connection handler reads it: the request line and
 * the header fields, parsed in place in the connection's read buffer. The fields stay byte ranges
 * (name, value) with a kind for the few the handler or the proxy acts on; strings are made only for
 * the path, the query and the fields the proxy asks for by name.
 *
 * <p>The parser accepts only what it fully understands, and strictly: a request line of a token
 * method, an origin-form target of RFC 3986 characters (a percent sign followed by two hex digits)
 * and {@code HTTP/1.1}; fields of a token name, a colon and a value of visible ASCII, spaces and
 * tabs, each line ended by CRLF; one non-empty {@code Host} of host-name characters and an optional
 * port; at most one {@code Content-Length} of digits, or one {@code Transfer-Encoding: chunked} and
 * no {@code Content-Length}. Anything else (another version, an absolute or asterisk target, obsolete
 * line folding, a bare LF, non-ASCII bytes, a duplicate or malformed framing field) is not refused
 * here: {@link #parse} returns false and the connection is handed to Helidon's HTTP/1.1 parser,
 * which answers it as it always has. What the lean handler serves is therefore a subset of what
 * Helidon accepts, and its refusals stay Helidon's (and the listener guard's).
 *
 * <p>Not thread-safe: owned by its connection's thread, reused for each request.
 */
final class RequestHead {
    // Field kinds: what the handler does with a request field.
    /** Forwarded as it came. */
    static final byte FORWARD = 0;
    /** Not forwarded: hop-by-hop, set by this hop, or a header the web server owns. */
    static final byte DROP = 1;

    static final byte HOST = 2;
    static final byte CONTENT_LENGTH = 3;
    static final byte TRANSFER_ENCODING = 4;
    static final byte CONNECTION = 5;
    static final byte EXPECT = 6;
    /** {@code X-Consul-Token}: the gateway's, never forwarded. */
    static final byte TOKEN = 7;
    /** Forwarded unless it carried the token a route required. */
    static final byte AUTHORIZATION = 8;
    /** Appended to, not forwarded as it came. */
    static final byte X_FORWARDED_FOR = 9;

    /** Longest method accepted here (longer ones go to Helidon). */
    private static final int MAX_METHOD = 24;

    private static final boolean[] TOKEN_CHARS = new boolean[256];
    private static final boolean[] TARGET_CHARS = new boolean[256];
    private static final boolean[] HOST_CHARS = new boolean[256];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TOKEN_CHARS[c] = TARGET_CHARS[c] = HOST_CHARS[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TOKEN_CHARS[c] = TARGET_CHARS[c] = HOST_CHARS[c] = true;
            TOKEN_CHARS[c - 'a' + 'A'] = TARGET_CHARS[c - 'a' + 'A'] = HOST_CHARS[c - 'a' + 'A'] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN_CHARS[c] = true;
        }
        // RFC 3986 pchar, '/' and '?': unreserved, sub-delims, ':', '@' ('%' is checked apart).
        for (char c : "-._~!$&'()*+,;=:@/?".toCharArray()) {
            TARGET_CHARS[c] = true;
        }
        // reg-name characters of RFC 3986 that every host validator accepts (unreserved).
        for (char c : "-._~".toCharArray()) {
            HOST_CHARS[c] = true;
        }
    }

    byte[] buf;
    /** Where the head starts and where it ends (just past its empty line). */
    int start;

    int end;

    /** The request line's length, CRLF excluded. */
    int lineLength;
    /** Where the header fields start (just past the request line's CRLF). */
    int fieldsStart;

    Method method;
    String rawPath;
    String rawQuery;

    /** Content-Length, or -1 without one. */
    long contentLength;

    boolean chunked;
    /** The client asked for the connection to close after the answer. */
    boolean close;
    /** The client waits for {@code 100 Continue} before it sends the body. */
    boolean expectContinue;
    /** Whether a {@code Connection} field names fields beyond {@code close} and {@code keep-alive}. */
    boolean connectionNamesFields;

    int hostField;
    int fieldCount;
    /** Per field {@code i}: name from, name to, value from, value to at {@code 4i .. 4i+3}. */
    int[] bounds = new int[4 * 16];

    byte[] kinds = new byte[16];

    /**
     * Parses the head in {@code b[from, to)}, which ends with its empty line (CRLF CRLF).
     *
     * @return whether the lean handler serves it; false: it is Helidon's to parse (and maybe refuse)
     */
    boolean parse(byte[] b, int from, int to) {
        buf = b;
        start = from;
        end = to;
        contentLength = -1;
        chunked = false;
        close = false;
        expectContinue = false;
        connectionNamesFields = false;
        hostField = -1;
        fieldCount = 0;
        int at = requestLine(b, from, to);
        if (at < 0) {
            return false;
        }
        boolean transferEncoding = false;
        while (true) {
            if (b[at] == '\r') {
                // the empty line: at + 1 is its LF, the end of the head
                break;
            }
            int nameEnd = at;
            while (TOKEN_CHARS[b[nameEnd] & 0xff]) {
                nameEnd++;
            }
            if (nameEnd == at || b[nameEnd] != ':') {
                return false; // no name, whitespace before the colon, obs-fold, a bare LF...
            }
            int vs = nameEnd + 1;
            while (b[vs] == ' ' || b[vs] == '\t') {
                vs++;
            }
            int e = vs;
            while (true) {
                int c = b[e] & 0xff;
                if (c >= 0x20 && c < 0x7f || c == '\t') {
                    e++;
                } else {
                    break;
                }
            }
            if (b[e] != '\r' || b[e + 1] != '\n') {
                return false; // a control character, non-ASCII, or a bare CR or LF
            }
            int ve = e;
            while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
                ve--;
            }
            byte kind = kind(b, at, nameEnd);
            switch (kind) {
                case HOST -> {
                    if (hostField >= 0 || !validHost(b, vs, ve)) {
                        return false;
                    }
                    hostField = fieldCount;
                }
                case CONTENT_LENGTH -> {
                    if (contentLength >= 0 || (contentLength = digits(b, vs, ve)) < 0) {
                        return false;
                    }
                }
                case TRANSFER_ENCODING -> {
                    if (transferEncoding || !equalsIgnoreCase(b, vs, ve, "chunked")) {
                        return false;
                    }
                    transferEncoding = true;
                    chunked = true;
                }
                case CONNECTION -> connection(b, vs, ve);
                case EXPECT -> expectContinue |= equalsIgnoreCase(b, vs, ve, "100-continue");
                default -> {
                    // forwarded, dropped or looked up by name later
                }
            }
            add(kind, at, nameEnd, vs, ve);
            at = e + 2;
        }
        return hostField >= 0 && !(chunked && contentLength >= 0);
    }

    /** Parses the request line; returns where the fields start, or -1 for Helidon. */
    private int requestLine(byte[] b, int from, int to) {
        int sp = from;
        while (sp < to && TOKEN_CHARS[b[sp] & 0xff]) {
            sp++;
        }
        int methodLength = sp - from;
        if (methodLength == 0 || methodLength > MAX_METHOD || b[sp] != ' ') {
            return -1;
        }
        method = method(b, from, methodLength);
        int target = sp + 1;
        if (b[target] != '/') {
            return -1; // absolute-form, authority-form, asterisk-form: Helidon's
        }
        int query = -1;
        int i = target;
        while (true) {
            int c = b[i] & 0xff;
            if (TARGET_CHARS[c]) {
                if (c == '?' && query < 0) {
                    query = i;
                }
                i++;
            } else if (c == '%' && hex(b[i + 1]) && hex(b[i + 2])) {
                i += 3;
            } else {
                break;
            }
        }
        // " HTTP/1.1\r\n"
        if (b[i] != ' '
                || b[i + 1] != 'H'
                || b[i + 2] != 'T'
                || b[i + 3] != 'T'
                || b[i + 4] != 'P'
                || b[i + 5] != '/'
                || b[i + 6] != '1'
                || b[i + 7] != '.'
                || b[i + 8] != '1'
                || b[i + 9] != '\r'
                || b[i + 10] != '\n') {
            return -1;
        }
        lineLength = i + 9 - from;
        fieldsStart = i + 11;
        if (query < 0) {
            rawPath = recentPath.of(b, target, i);
            rawQuery = "";
        } else {
            rawPath = recentPath.of(b, target, query);
            rawQuery = query + 1 == i ? "" : recentQuery.of(b, query + 1, i);
        }
        return i + 11;
    }

    private static Method method(byte[] b, int from, int length) {
        if (length == 3 && b[from] == 'G' && b[from + 1] == 'E' && b[from + 2] == 'T') {
            return Method.GET;
        }
        if (length == 4 && b[from] == 'P' && b[from + 1] == 'O' && b[from + 2] == 'S' && b[from + 3] == 'T') {
            return Method.POST;
        }
        return Method.create(ascii(b, from, from + length));
    }

    private void add(byte kind, int nameFrom, int nameTo, int valueFrom, int valueTo) {
        int i = fieldCount;
        if (4 * i + 4 > bounds.length) {
            int[] bigger = new int[bounds.length * 2];
            System.arraycopy(bounds, 0, bigger, 0, bounds.length);
            bounds = bigger;
            byte[] k = new byte[kinds.length * 2];
            System.arraycopy(kinds, 0, k, 0, kinds.length);
            kinds = k;
        }
        bounds[4 * i] = nameFrom;
        bounds[4 * i + 1] = nameTo;
        bounds[4 * i + 2] = valueFrom;
        bounds[4 * i + 3] = valueTo;
        kinds[i] = kind;
        fieldCount = i + 1;
    }

    /** The tokens of a {@code Connection} field: {@code close}, and whether it names other fields. */
    private void connection(byte[] b, int from, int to) {
        int i = from;
        while (i < to) {
            while (i < to && (b[i] == ' ' || b[i] == '\t' || b[i] == ',')) {
                i++;
            }
            int s = i;
            while (i < to && b[i] != ',' && b[i] != ' ' && b[i] != '\t') {
                i++;
            }
            if (i > s) {
                if (equalsIgnoreCase(b, s, i, "close")) {
                    close = true;
                } else if (!equalsIgnoreCase(b, s, i, "keep-alive")) {
                    connectionNamesFields = true;
                }
            }
        }
    }

    /** Whether field {@code i} is named by a {@code Connection} field of this request (hop-by-hop too). */
    boolean namedByConnection(int i) {
        if (!connectionNamesFields) {
            return false;
        }
        int nameFrom = bounds[4 * i];
        int nameTo = bounds[4 * i + 1];
        for (int f = 0; f < fieldCount; f++) {
            if (kinds[f] != CONNECTION) {
                continue;
            }
            int at = bounds[4 * f + 2];
            int to = bounds[4 * f + 3];
            while (at < to) {
                while (at < to && (buf[at] == ' ' || buf[at] == '\t' || buf[at] == ',')) {
                    at++;
                }
                int s = at;
                while (at < to && buf[at] != ',' && buf[at] != ' ' && buf[at] != '\t') {
                    at++;
                }
                if (at - s == nameTo - nameFrom && regionEqualsIgnoreCase(buf, s, nameFrom, at - s)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The first value of the field named {@code name}, or null. */
    String header(HeaderName name) {
        String lower = name.lowerCase();
        int n = lower.length();
        for (int i = 0; i < fieldCount; i++) {
            int from = bounds[4 * i];
            if (bounds[4 * i + 1] - from == n && matchesLower(buf, from, lower)) {
                return ascii(buf, bounds[4 * i + 2], bounds[4 * i + 3]);
            }
        }
        return null;
    }

    /** Every value of the fields of one kind, joined by {@code ", "}, or null when there is none. */
    String joined(byte kind) {
        String all = null;
        for (int i = 0; i < fieldCount; i++) {
            if (kinds[i] == kind) {
                String v = ascii(buf, bounds[4 * i + 2], bounds[4 * i + 3]);
                all = all == null ? v : all + ", " + v;
            }
        }
        return all;
    }

    /** The {@code Host} field's value. */
    String host() {
        return recentHost.of(buf, bounds[4 * hostField + 2], bounds[4 * hostField + 3]);
    }

    /**
     * The string of the bytes a connection sent last at one place of its heads (path, query, host):
     * a client sends the same ones request after request, and gets the same string back after one
     * vectorized comparison instead of a new string per request.
     */
    static final class Recent {
        private byte[] bytes;
        private String string;

        String of(byte[] b, int from, int to) {
            byte[] last = bytes;
            if (last != null && last.length == to - from && Arrays.equals(b, from, to, last, 0, last.length)) {
                return string;
            }
            String s = ascii(b, from, to);
            if (to - from <= MAX_RECENT) {
                bytes = Arrays.copyOfRange(b, from, to);
                string = s;
            }
            return s;
        }
    }

    /** Longest value kept by a {@link Recent} (a longer one is made anew each time). */
    private static final int MAX_RECENT = 1024;

    private final Recent recentPath = new Recent();
    private final Recent recentQuery = new Recent();
    private final Recent recentHost = new Recent();

    // ---------------------------------------------------------------- bytes

    /** The kind of a field by its name (ASCII case-insensitive). */
    static byte kind(byte[] b, int from, int to) {
        switch (to - from) {
            case 2:
                return equalsIgnoreCase(b, from, to, "te") ? DROP : FORWARD;
            case 4:
                return equalsIgnoreCase(b, from, to, "host") ? HOST : FORWARD;
            case 6:
                return equalsIgnoreCase(b, from, to, "expect") ? EXPECT : FORWARD;
            case 7:
                return equalsIgnoreCase(b, from, to, "upgrade") || equalsIgnoreCase(b, from, to, "trailer")
                        ? DROP
                        : proxyPrefixed(b, from);
            case 10:
                if (equalsIgnoreCase(b, from, to, "connection")) {
                    return CONNECTION;
                }
                return equalsIgnoreCase(b, from, to, "keep-alive") ? DROP : proxyPrefixed(b, from);
            case 12:
                // Helidon's own field for an mTLS client's certificate name: never taken from a client
                return equalsIgnoreCase(b, from, to, "x-helidon-cn") ? DROP : proxyPrefixed(b, from);
            case 13:
                return equalsIgnoreCase(b, from, to, "authorization") ? AUTHORIZATION : proxyPrefixed(b, from);
            case 14:
                if (equalsIgnoreCase(b, from, to, "content-length")) {
                    return CONTENT_LENGTH;
                }
                return equalsIgnoreCase(b, from, to, "x-consul-token") ? TOKEN : proxyPrefixed(b, from);
            case 15:
                return equalsIgnoreCase(b, from, to, "x-forwarded-for") ? X_FORWARDED_FOR : proxyPrefixed(b, from);
            case 16:
                return equalsIgnoreCase(b, from, to, "x-forwarded-host") ? DROP : proxyPrefixed(b, from);
            case 17:
                if (equalsIgnoreCase(b, from, to, "transfer-encoding")) {
                    return TRANSFER_ENCODING;
                }
                return equalsIgnoreCase(b, from, to, "x-forwarded-proto") ? DROP : proxyPrefixed(b, from);
            default:
                return to - from > 6 ? proxyPrefixed(b, from) : FORWARD;
        }
    }

    /** Whether {@code b[from ..]} holds {@code lower} but for ASCII capitals (any token characters). */
    private static boolean matchesLower(byte[] b, int from, String lower) {
        for (int i = 0; i < lower.length(); i++) {
            int x = b[from + i];
            char c = lower.charAt(i);
            if (x != c && !(x >= 'A' && x <= 'Z' && x + ('a' - 'A') == c)) {
                return false;
            }
        }
        return true;
    }

    private static byte proxyPrefixed(byte[] b, int from) {
        return regionEqualsIgnoreCase(b, from, "proxy-") ? DROP : FORWARD;
    }

    /**
     * ASCII case-insensitive comparison with a lower-case constant of letters, digits and dashes:
     * setting bit 0x20 folds a capital letter to its small letter and leaves digits and the dash.
     */
    static boolean equalsIgnoreCase(byte[] b, int from, int to, String lower) {
        int n = lower.length();
        if (to - from != n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if ((b[from + i] | 0x20) != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean regionEqualsIgnoreCase(byte[] b, int from, String lower) {
        for (int i = 0; i < lower.length(); i++) {
            if ((b[from + i] | 0x20) != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean regionEqualsIgnoreCase(byte[] b, int x, int y, int n) {
        for (int i = 0; i < n; i++) {
            int p = b[x + i];
            int q = b[y + i];
            if (p != q && ((p | 0x20) != (q | 0x20) || (p | 0x20) < 'a' || (p | 0x20) > 'z')) {
                return false;
            }
        }
        return true;
    }

    /**
     * A host and optional port that any validator accepts: a reg-name of letters, digits and
     * {@code -._~}, or an IP literal of hex digits, colons and dots in brackets, then {@code :}
     * and up to five digits below 65536.
     */
    static boolean validHost(byte[] b, int from, int to) {
        if (from == to) {
            return false;
        }
        int i = from;
        if (b[i] == '[') {
            i++;
            int s = i;
            while (i < to && (hex(b[i]) || b[i] == ':' || b[i] == '.')) {
                i++;
            }
            if (i == s || i == to || b[i] != ']') {
                return false;
            }
            i++;
        } else {
            while (i < to && HOST_CHARS[b[i] & 0xff]) {
                i++;
            }
            if (i == from) {
                return false;
            }
        }
        if (i == to) {
            return true;
        }
        if (b[i] != ':' || to - i - 1 < 1 || to - i - 1 > 5) {
            return false;
        }
        long port = digits(b, i + 1, to);
        return port >= 0 && port <= 65_535;
    }

    /** The value of 1 to 18 decimal digits, or -1. */
    static long digits(byte[] b, int from, int to) {
        int n = to - from;
        if (n < 1 || n > 18) {
            return -1;
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }

    private static boolean hex(byte c) {
        return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
    }

    @SuppressWarnings("deprecation") // the byte-to-char constructor is the ISO-8859-1 decode, without a charset lookup
    static String ascii(byte[] b, int from, int to) {
        return new String(b, 0, from, to - from);
    }
}
