package io.edgegate.bridge.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.logging.Level;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's Chromium, headless, driven by its chromedriver through Selenium: the status pages'
 * browser tests, and what those tests do on both pages (sign in, read an instance, fit a phone).
 * One per test class (starting a browser costs a second or two). Fails, never
 * skips, when either binary is missing: {@code apt-get install -y chromium chromium-driver}
 * ({@code .ci/run} does), or name them with {@code -Dwebdriver.chrome.driver=} and
 * {@code -Dedgegate.chromium=}.
 *
 * <p>Chromium runs with {@code --no-sandbox} (the tests may run as root), a fixed window of
 * {@link #WIDTH} x {@link #HEIGHT}, no background networking. Waits are bounded
 * ({@link #WAIT}); screenshots (whole pages) go to {@code target/ui-screenshots/}. Not
 * thread-safe: one test thread.
 */
public final class HeadlessBrowser implements AutoCloseable {
    public static final int WIDTH = 1280;
    public static final int HEIGHT = 900;
    /** A phone held upright (CSS pixels). */
    public static final int PHONE_WIDTH = 390;

    public static final int PHONE_HEIGHT = 844;
    /** How long a wait may take: generous, for a machine loaded by other builds (a pass takes far less). */
    public static final Duration WAIT = Duration.ofSeconds(30);

    private static final int MAX_SCREENSHOT_HEIGHT = 6000;

    private final ChromeDriver driver;
    private final Path profile;

    private HeadlessBrowser(ChromeDriver driver, Path profile) {
        this.driver = driver;
        this.profile = profile;
    }

    /** Starts Chromium; an AssertionError naming what to install when a binary is missing. */
    public static HeadlessBrowser start() {
        Path chromedriver = find(
                "chromedriver",
                System.getProperty("webdriver.chrome.driver"),
                "/usr/bin/chromedriver",
                "/usr/lib/chromium/chromedriver");
        Path chromium = find(
                "chromium", System.getProperty("edgegate.chromium"), "/usr/bin/chromium", "/usr/lib/chromium/chromium");
        Path profile;
        try {
            profile = Files.createTempDirectory("edgegate-chromium");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        ChromeOptions options = new ChromeOptions()
                .setBinary(chromium.toFile())
                .addArguments(
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--window-size=" + WIDTH + "," + HEIGHT,
                        "--force-device-scale-factor=1",
                        "--hide-scrollbars",
                        "--lang=en-US",
                        "--no-first-run",
                        "--no-default-browser-check",
                        "--disable-extensions",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-features=Translate,MediaRouter,OptimizationHints",
                        "--user-data-dir=" + profile);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort()
                .build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
        return new HeadlessBrowser(driver, profile);
    }

    private static Path find(String binary, String... candidates) {
        List<String> looked = new ArrayList<>();
        for (String candidate : candidates) {
            if (candidate == null || candidate.isEmpty()) {
                continue;
            }
            looked.add(candidate);
            Path p = Path.of(candidate);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path p = Path.of(dir, binary);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        throw new AssertionError(binary + " not found (looked at " + looked + " and PATH): the status pages' browser"
                + " tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver"
                + " (.ci/run installs them), or -Dwebdriver.chrome.driver=/path/to/chromedriver"
                + " -Dedgegate.chromium=/path/to/chromium");
    }

    public WebDriver driver() {
        return driver;
    }

    public void open(String url) {
        driver.get(url);
    }

    /** Waits up to {@link #WAIT} for the condition to give a non-null, non-false value. */
    public <T> T await(String what, Function<WebDriver, T> condition) {
        try {
            return new WebDriverWait(driver, WAIT, Duration.ofMillis(50))
                    .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                    .until(condition);
        } catch (TimeoutException e) {
            throw new AssertionError("not within " + WAIT.toSeconds() + " s: " + what + "\npage text:\n" + pageText()
                    + "\nbrowser console:\n" + String.join("\n", console()));
        }
    }

    /** The first element matching, or null. */
    public WebElement find(By by) {
        List<WebElement> found = driver.findElements(by);
        return found.isEmpty() ? null : found.get(0);
    }

    /** Whether an element matches and is displayed. */
    public boolean shown(By by) {
        WebElement e = find(by);
        return e != null && e.isDisplayed();
    }

    public String pageText() {
        WebElement body = find(By.tagName("body"));
        return body == null ? "" : body.getText();
    }

    public Object script(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    /** What the page wrote to the console since the last call (errors, CSP violations), one line each. */
    public List<String> console() {
        List<String> lines = new ArrayList<>();
        for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
            lines.add(entry.getLevel() + " " + entry.getMessage());
        }
        return lines;
    }

    // ---------------------------------------------------------------- the status pages

    /** The element a status page shows an instance in. */
    public static By instanceOnScreen(String id) {
        return By.cssSelector("[data-instance='" + id + "']");
    }

    /**
     * Opens a status page afresh, signed out (its session storage cleared), and sends a token as a
     * person would: pastes it and presses the button. Returns once it is sent.
     */
    public void submitToken(String page, String token) {
        open(page);
        script("sessionStorage.clear();");
        open(page);
        await("the sign-in form", d -> shown(By.id("token")));
        find(By.id("token")).sendKeys(token);
        find(By.cssSelector("#signin-form button[type=submit]")).click();
    }

    /** {@link #submitToken}, then waits for the signed-in page ({@code signedIn} true). */
    public void signIn(String page, String token, Function<WebDriver, Boolean> signedIn) {
        submitToken(page, token);
        await("the signed-in page", signedIn);
    }

    /**
     * An attribute of the first element matching, or null when none matches. Read it inside
     * {@link #await}: a page that re-renders replaces its elements.
     */
    public String attribute(By by, String name) {
        WebElement e = find(by);
        return e == null ? null : e.getDomAttribute(name);
    }

    /**
     * The text of the first element matching, or null when none matches. Read it inside
     * {@link #await}: a page that re-renders replaces its elements.
     */
    public String text(By by) {
        WebElement e = find(by);
        return e == null ? null : e.getText();
    }

    /** The values when every one is there, else null (so that {@link #await} tries again). */
    public static List<String> whenAll(String... values) {
        for (String v : values) {
            if (v == null) {
                return null;
            }
        }
        return List.of(values);
    }

    /**
     * Screenshots the page ({@code name}), lays it out as a phone, asserts that nothing scrolls
     * sideways and screenshots the phone's first screen and whole page ({@code name-phone},
     * {@code name-phone-full}); back to the desktop window whatever happens.
     */
    public void assertFitsAPhone(String name) {
        screenshot(name);
        phone();
        try {
            await("a phone's layout", d -> ((Number) script("return window.innerWidth;")).longValue() <= 400);
            long overflow = horizontalOverflow();
            if (overflow != 0) {
                throw new AssertionError("on a phone the page scrolls sideways by " + overflow + " px");
            }
            screenshotScreen(name + "-phone");
            screenshot(name + "-phone-full");
        } finally {
            desktop();
        }
    }

    /** Asserts the page broke no Content-Security-Policy rule and threw no uncaught error (since the last {@link #console}). */
    public void assertNoScriptErrors() {
        List<String> violations = console().stream()
                .filter(line -> line.contains("Content Security Policy") || line.contains("Uncaught"))
                .toList();
        if (!violations.isEmpty()) {
            throw new AssertionError("the page broke its rules: " + violations);
        }
    }

    /** Lays the page out as a phone held upright ({@link #PHONE_WIDTH} CSS pixels, touch, mobile viewport). */
    public void phone() {
        driver.executeCdpCommand(
                "Emulation.setDeviceMetricsOverride",
                Map.of("width", PHONE_WIDTH, "height", PHONE_HEIGHT, "deviceScaleFactor", 2, "mobile", true));
    }

    /** Back to the fixed desktop window. */
    public void desktop() {
        driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
    }

    /** How many CSS pixels the page is wider than its viewport (0: nothing scrolls sideways). */
    public long horizontalOverflow() {
        return ((Number) script("return document.documentElement.scrollWidth - document.documentElement.clientWidth;"))
                .longValue();
    }

    /** What the screen shows (the viewport: a phone's first screen) as a PNG under {@code target/ui-screenshots/}. */
    public Path screenshotScreen(String name) {
        return write(name, driver.getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
    }

    /** The whole page (not only the viewport) as a PNG under {@code target/ui-screenshots/}. */
    public Path screenshot(String name) {
        Map<String, Object> metrics = driver.executeCdpCommand("Page.getLayoutMetrics", Map.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> content = (Map<String, Object>) metrics.get("cssContentSize");
        @SuppressWarnings("unchecked")
        Map<String, Object> viewport = (Map<String, Object>) metrics.get("cssLayoutViewport");
        double width = ((Number) viewport.get("clientWidth")).doubleValue();
        double height = Math.min(((Number) content.get("height")).doubleValue(), MAX_SCREENSHOT_HEIGHT);
        Map<String, Object> shot = driver.executeCdpCommand(
                "Page.captureScreenshot",
                Map.of(
                        "format",
                        "png",
                        "captureBeyondViewport",
                        true,
                        "clip",
                        Map.of("x", 0, "y", 0, "width", width, "height", height, "scale", 1)));
        return write(name, Base64.getDecoder().decode((String) shot.get("data")));
    }

    private static Path write(String name, byte[] png) {
        Path dir = Path.of(System.getProperty("basedir", ".")).resolve("target").resolve("ui-screenshots");
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve(name + ".png");
            Files.write(file, png);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            deleteTree(profile);
        }
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover profile directory in /tmp is harmless
        }
    }
}
