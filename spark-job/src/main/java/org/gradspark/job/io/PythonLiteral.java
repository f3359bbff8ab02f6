package org.gradspark.job.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict parser for the Python literals a {@code .npy} header is written in (NumPy reads it
 * with {@code ast.literal_eval}): dicts, lists, tuples, strings, ints, {@code True},
 * {@code False}, {@code None}. Anything else is a syntax error rather than a guess, so a damaged
 * header is reported instead of misread.
 *
 * <p>Values come back as {@code Map<Object,Object>} (insertion order), {@code List<Object>},
 * {@link Tuple}, {@code String}, {@code Long}, {@code Boolean} and {@link #NONE}.
 */
final class PythonLiteral {

    /** A Python tuple; kept apart from a list because NumPy requires {@code shape} to be a tuple. */
    record Tuple(List<Object> items) {
        @Override public String toString() {
            StringBuilder b = new StringBuilder("(");
            for (int i = 0; i < items.size(); i++) b.append(i > 0 ? ", " : "").append(repr(items.get(i)));
            return b.append(items.size() == 1 ? ",)" : ")").toString();
        }
    }

    static final Object NONE = new Object() {
        @Override public String toString() { return "None"; }
    };

    static final class SyntaxError extends Exception {
        private static final long serialVersionUID = 1L;

        SyntaxError(String message, int column) {
            super(message + " at character " + (column + 1));
        }
    }

    private final String s;
    private int i;
    /** Whether the sequence just parsed ended with a comma: {@code (3,)} against {@code (3)}. */
    private boolean trailingComma;

    private PythonLiteral(String s) {
        this.s = s;
    }

    /** Parses one literal; only whitespace may surround it. */
    static Object parse(String text) throws SyntaxError {
        PythonLiteral p = new PythonLiteral(text);
        Object v = p.value();
        p.skipSpace();
        if (p.i < text.length()) throw new SyntaxError("unexpected '" + text.charAt(p.i) + "' after the value", p.i);
        return v;
    }

    /** Python's repr of a parsed value, for error messages that users can match against their files. */
    static String repr(Object v) {
        if (v instanceof String str) return "'" + str + "'";
        if (v instanceof Boolean bool) return bool ? "True" : "False";
        if (v instanceof List<?> list) {
            StringBuilder b = new StringBuilder("[");
            for (int k = 0; k < list.size(); k++) b.append(k > 0 ? ", " : "").append(repr(list.get(k)));
            return b.append(']').toString();
        }
        if (v instanceof Map<?, ?> map) {
            StringBuilder b = new StringBuilder("{");
            map.forEach((k, x) -> b.append(b.length() > 1 ? ", " : "").append(repr(k)).append(": ").append(repr(x)));
            return b.append('}').toString();
        }
        return String.valueOf(v);
    }

    private Object value() throws SyntaxError {
        skipSpace();
        if (i >= s.length()) throw new SyntaxError("unexpected end of header", i);
        char c = s.charAt(i);
        switch (c) {
            case '{': return dict();
            case '[': return new ArrayList<>(sequence(']'));
            case '(': return parenthesized();
            case '\'': case '"': return string();
            default:
                if (c == '-' || c == '+' || Character.isDigit(c)) return integer();
                if (Character.isLetter(c) || c == '_') return name();
                throw new SyntaxError("unexpected '" + c + "'", i);
        }
    }

    private Map<Object, Object> dict() throws SyntaxError {
        Map<Object, Object> map = new LinkedHashMap<>();
        i++;
        while (true) {
            skipSpace();
            if (peek('}')) { i++; return map; }
            int at = i;
            Object key = value();
            skipSpace();
            expect(':');
            Object v = value();
            // Python would keep the last value silently; two values for one key means a damaged header.
            if (map.containsKey(key)) throw new SyntaxError("duplicate key " + repr(key), at);
            map.put(key, v);
            skipSpace();
            if (peek(',')) i++;
            else if (!peek('}')) throw new SyntaxError("expected ',' or '}'", i);
        }
    }

    /** Items up to {@code close}, allowing a trailing comma; the opening bracket is at {@code i}. */
    private List<Object> sequence(char close) throws SyntaxError {
        List<Object> items = new ArrayList<>();
        boolean comma = false;
        i++;
        while (true) {
            skipSpace();
            if (peek(close)) {
                i++;
                trailingComma = comma;
                return items;
            }
            items.add(value());
            skipSpace();
            comma = peek(',');
            if (comma) i++;
            else if (!peek(close)) throw new SyntaxError("expected ',' or '" + close + "'", i);
        }
    }

    // "(3)" is the int 3 in Python, "(3,)" a tuple: the difference matters for shape.
    private Object parenthesized() throws SyntaxError {
        List<Object> items = sequence(')');
        if (items.size() == 1 && !trailingComma) return items.get(0);
        return new Tuple(List.copyOf(items));
    }

    private String string() throws SyntaxError {
        char q = s.charAt(i);
        int start = ++i;
        while (i < s.length() && s.charAt(i) != q) {
            char c = s.charAt(i);
            if (c == '\\') throw new SyntaxError("escape sequences in strings are not supported", i);
            if (c == '\n' || c == '\r') throw new SyntaxError("unterminated string", start - 1);
            i++;
        }
        if (i >= s.length()) throw new SyntaxError("unterminated string", start - 1);
        return s.substring(start, i++);
    }

    private Long integer() throws SyntaxError {
        int start = i;
        if (peek('-') || peek('+')) i++;
        int digits = i;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') i++;
        if (i == digits) throw new SyntaxError("expected a digit", i);
        String text = s.substring(start, i);
        if (s.charAt(digits) == '0' && i - digits > 1) throw new SyntaxError("leading zeros in " + text, start);
        // Headers written by Python 2 suffix longs with L; NumPy still reads them.
        if (peek('L') || peek('l')) i++;
        if (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '.' || s.charAt(i) == '_')) {
            throw new SyntaxError("only plain integers are supported", start);
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new SyntaxError("integer " + text + " is too large", start);
        }
    }

    private Object name() throws SyntaxError {
        int start = i;
        while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) i++;
        String word = s.substring(start, i);
        switch (word) {
            case "True": return Boolean.TRUE;
            case "False": return Boolean.FALSE;
            case "None": return NONE;
            default: throw new SyntaxError("unexpected name '" + word + "'", start);
        }
    }

    private void skipSpace() {
        while (i < s.length() && " \t\n\r\f".indexOf(s.charAt(i)) >= 0) i++;
    }

    private boolean peek(char c) {
        return i < s.length() && s.charAt(i) == c;
    }

    private void expect(char c) throws SyntaxError {
        if (!peek(c)) throw new SyntaxError("expected '" + c + "'", i);
        i++;
    }
}
