package io.edgegate.benchmarks.inference;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The trace of the inference routing benchmark: what each simulated user asks, from a seeded
 * random source, so that every balancer gets the same mix.
 *
 * <ul>
 *   <li>Applications ({@code appShare} of the requests): {@code apps} system prompts of 1,000 to
 *       3,000 tokens (instructions and retrieved context), chosen by Zipf popularity (s = 1: the first is asked most), one question
 *       each; every other application asks through its own LoRA adapter ({@code ad-0}, ...) unless
 *       adapters are off (then all ask the base model: prefix affinity and load alone).
 *   <li>Chats (the rest): multi-turn conversations on the base model, a short system prompt of
 *       their own, up to eight turns, each sending the whole history (the previous answers
 *       included) and a new question.
 *   <li>Uneven sizes: questions log-normal around 80 tokens (10 to 600), answers log-normal around
 *       40 tokens (8 to 300): extraction and short answers, as at a factory's edge.
 * </ul>
 */
final class Workload {
    /** One request: the model, the messages (role, content) and the answer's length. */
    record Request(String model, List<String[]> messages, int maxTokens, Chat chat) {}

    /** A conversation in progress, owned by its user. */
    static final class Chat {
        final List<String[]> history = new ArrayList<>();
        int turns;
    }

    private static final String[] WORDS = {
        "press",
        "line",
        "station",
        "bolt",
        "torque",
        "sensor",
        "conveyor",
        "weld",
        "seam",
        "robot",
        "arm",
        "gripper",
        "pallet",
        "batch",
        "order",
        "shift",
        "alarm",
        "spindle",
        "coolant",
        "pressure",
        "valve",
        "motor",
        "encoder",
        "drive",
        "fault",
        "reset",
        "calibrate",
        "inspect",
        "camera",
        "defect",
        "scrap",
        "rework",
        "tolerance",
        "gauge",
        "fixture",
        "clamp",
        "feeder",
        "hopper",
        "mould",
        "cycle",
        "stroke",
        "temperature",
        "humidity",
        "vibration",
        "bearing",
        "gearbox",
        "belt",
        "chain",
        "lubricate",
        "filter"
    };

    final int apps;
    final double appShare;
    /** Whether applications ask through their LoRA adapters (else all on the base model). */
    final boolean adapters;

    final String[] systemPrompts;
    private final double[] zipf;

    Workload(long seed, int apps, double appShare, boolean adapters) {
        this.apps = apps;
        this.appShare = appShare;
        this.adapters = adapters;
        Random random = new Random(seed);
        systemPrompts = new String[apps];
        for (int i = 0; i < apps; i++) {
            int tokens = 1000 + random.nextInt(2001);
            systemPrompts[i] = "You are the assistant of application " + i + ". " + text(random, tokens);
        }
        zipf = new double[apps];
        double sum = 0;
        for (int i = 0; i < apps; i++) {
            sum += 1.0 / (i + 1);
            zipf[i] = sum;
        }
        for (int i = 0; i < apps; i++) {
            zipf[i] /= sum;
        }
    }

    /** The model an application asks through: every other one through its own adapter. */
    String model(int app) {
        return adapters && app % 2 == 1 ? "ad-" + (app / 2) : SimulatedEngine.BASE_MODEL;
    }

    /** Adapters the applications use. */
    int adapters() {
        return apps / 2;
    }

    /** The next request of a user, continuing its conversation when it has one going. */
    Request next(Random random, Chat[] chat) {
        if (random.nextDouble() < appShare) {
            double u = random.nextDouble();
            int app = 0;
            while (app < apps - 1 && zipf[app] < u) {
                app++;
            }
            List<String[]> messages =
                    List.of(new String[] {"system", systemPrompts[app]}, new String[] {"user", question(random)});
            return new Request(model(app), messages, answerTokens(random), null);
        }
        Chat c = chat[0];
        if (c == null || c.turns >= 8) {
            c = new Chat();
            c.history.add(new String[] {
                "system",
                "You help the crew of cell " + random.nextInt(1000) + ". " + text(random, 60 + random.nextInt(90))
            });
            chat[0] = c;
        }
        c.history.add(new String[] {"user", question(random)});
        c.turns++;
        return new Request(SimulatedEngine.BASE_MODEL, List.copyOf(c.history), answerTokens(random), c);
    }

    private static String question(Random random) {
        return text(random, logNormal(random, 80, 0.8, 10, 600)) + "?";
    }

    private static int answerTokens(Random random) {
        return logNormal(random, 40, 0.8, 8, 300);
    }

    private static int logNormal(Random random, double median, double sigma, int min, int max) {
        double v = median * Math.exp(sigma * random.nextGaussian());
        return (int) Math.max(min, Math.min(max, Math.round(v)));
    }

    /** About {@code tokens} tokens of words ({@value SimulatedEngine#CHARS_PER_TOKEN} characters a token). */
    static String text(Random random, int tokens) {
        StringBuilder out = new StringBuilder(tokens * SimulatedEngine.CHARS_PER_TOKEN + 16);
        while (out.length() < tokens * SimulatedEngine.CHARS_PER_TOKEN) {
            out.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
        }
        return out.toString();
    }
}
