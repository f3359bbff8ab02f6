package org.gradspark.job.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gradspark.ad.DType;

/**
 * The {@code .npy} preamble and header: {@code \x93NUMPY}, a version byte pair, the header length
 * (2 bytes in 1.0, 4 in 2.0 and 3.0, little-endian), then a Python dict literal
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }} padded with spaces and a
 * newline. Reading validates what NumPy validates and names the fault; writing reproduces
 * {@code np.save} byte for byte, so our files and NumPy's are interchangeable and diffable.
 */
final class NpyHeaderCodec {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** NumPy refuses longer headers unless told to trust the file ({@code max_header_size}). */
    static final int MAX_HEADER_BYTES = 10_000;
    // NumPy's format.py: data starts on a 64-byte boundary, and the header leaves room for the
    // growth axis to reach 21 digits so it can be rewritten in place.
    private static final int ARRAY_ALIGN = 64;
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;
    private static final Set<String> KEYS = Set.of("descr", "fortran_order", "shape");
    private static final Pattern DESCR = Pattern.compile("([<>=|]?)([a-zA-Z])(\\d*)(.*)");

    private NpyHeaderCodec() {}

    /** Reads the preamble and header from the start of {@code ch}; the data follows at {@code dataOffset()}. */
    static Npy.Header read(ReadableByteChannel ch, Origin origin) throws IOException {
        return read(ch, origin, false);
    }

    /** {@link #read(ReadableByteChannel, Origin)}, also accepting int32/int64 data when {@code integersAllowed}. */
    static Npy.Header read(ReadableByteChannel ch, Origin origin, boolean integersAllowed) throws IOException {
        ByteBuffer pre = ByteBuffer.allocate(MAGIC.length + 2).order(ByteOrder.LITTLE_ENDIAN);
        int got = readUpTo(ch, pre);
        byte[] start = Arrays.copyOf(pre.array(), got);
        if (got == 0) throw origin.fail("empty file, not a .npy array");
        if (!Arrays.equals(start, 0, Math.min(got, MAGIC.length), MAGIC, 0, Math.min(got, MAGIC.length))) {
            throw origin.fail("not a .npy array: it does not start with \\x93NUMPY but with bytes " + hex(start) + zipHint(start));
        }
        if (got < pre.capacity()) throw origin.fail("truncated header: the file ends after " + got + " bytes");
        int major = pre.get(6) & 0xff, minor = pre.get(7) & 0xff;
        if (minor != 0 || major < 1 || major > 3) {
            throw origin.fail("unsupported .npy format version " + major + "." + minor + " (1.0, 2.0 and 3.0 are supported)");
        }
        ByteBuffer len = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        int lenGot = readUpTo(ch, len);
        if (lenGot < len.capacity()) throw origin.fail("truncated header: the file ends after " + (got + lenGot) + " bytes");
        long headerLength = major == 1 ? len.getShort(0) & 0xffff : len.getInt(0) & 0xffffffffL;
        long dataOffset = pre.capacity() + len.capacity() + headerLength;
        if (headerLength > MAX_HEADER_BYTES) {
            throw origin.fail("header of " + headerLength + " bytes is larger than NumPy's limit of " + MAX_HEADER_BYTES);
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLength);
        int headerGot = readUpTo(ch, header);
        if (headerGot < headerLength) {
            throw origin.fail("truncated header: it declares " + dataOffset + " bytes of preamble and header, but the file ends after "
                    + (pre.capacity() + len.capacity() + headerGot));
        }
        String text = decode(header.array(), major, origin);
        return parse(text, major, dataOffset, origin, integersAllowed);
    }

    /** The header {@code np.save} writes for a C-order little-endian array of this dtype and shape. */
    static byte[] encode(DType dtype, long[] shape) {
        StringBuilder dict = new StringBuilder("{'descr': '").append(descr(dtype)).append("', 'fortran_order': False, 'shape': ")
                .append(shapeRepr(shape)).append(", }");
        if (shape.length > 0) dict.append(" ".repeat(GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length()));
        byte[] text = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
        int major = 1;
        int lengthBytes = 2;
        int hlen = text.length + 1;
        int pad = ARRAY_ALIGN - (MAGIC.length + 2 + lengthBytes + hlen) % ARRAY_ALIGN;
        if (hlen + pad > 0xffff) {
            major = 2;
            lengthBytes = 4;
            pad = ARRAY_ALIGN - (MAGIC.length + 2 + lengthBytes + hlen) % ARRAY_ALIGN;
        }
        ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 2 + lengthBytes + hlen + pad).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) out.putShort((short) (hlen + pad));
        else out.putInt(hlen + pad);
        out.put(text);
        for (int k = 0; k < pad; k++) out.put((byte) ' ');
        out.put((byte) '\n');
        return out.array();
    }

    static String descr(DType dtype) {
        return dtype == DType.FLOAT32 ? "<f4" : "<f8";
    }

    /** Python's repr of a shape tuple: {@code ()}, {@code (5,)}, {@code (2, 3)}. */
    static String shapeRepr(long[] shape) {
        StringBuilder b = new StringBuilder("(");
        for (int k = 0; k < shape.length; k++) b.append(k > 0 ? ", " : "").append(shape[k]);
        return b.append(shape.length == 1 ? ",)" : ")").toString();
    }

    private static Npy.Header parse(String text, int major, long dataOffset, Origin origin, boolean integersAllowed) {
        Object literal;
        try {
            literal = PythonLiteral.parse(text);
        } catch (PythonLiteral.SyntaxError e) {
            throw origin.fail("cannot parse the header " + quoted(text) + ": " + e.getMessage());
        }
        if (!(literal instanceof Map<?, ?> dict)) throw origin.fail("the header is not a Python dict: " + quoted(text));
        for (Object key : dict.keySet()) {
            if (!KEYS.contains(key)) throw origin.fail("unexpected key " + PythonLiteral.repr(key) + " in the header " + quoted(text));
        }
        for (String key : List.of("descr", "fortran_order", "shape")) {
            if (!dict.containsKey(key)) throw origin.fail("the header has no '" + key + "': " + quoted(text));
        }
        Object descr = dict.get("descr");
        int integerBytes = integersAllowed ? integerBytes(descr) : 0;
        DType dtype = integerBytes > 0 ? DType.FLOAT64 : dtypeOf(descr, origin);
        // '=', '|' and no prefix mean the reader's native order, as NumPy reads them.
        char order = ((String) descr).charAt(0);
        boolean bigEndian = order == '>' || order != '<' && ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;
        if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
            throw origin.fail("fortran_order is not True or False: " + PythonLiteral.repr(dict.get("fortran_order")));
        }
        long[] shape = shapeOf(dict.get("shape"), origin);
        if (!addressable(shape, dtype, dataOffset)) throw origin.fail("shape " + shapeRepr(shape) + " is too large to address");
        return new Npy.Header(major, dtype, bigEndian, fortran, shape, dataOffset, integerBytes);
    }

    /** 4 or 8 for an int32 or int64 descr, else 0. */
    private static int integerBytes(Object descr) {
        if (!(descr instanceof String d)) return 0;
        Matcher m = DESCR.matcher(d);
        if (!m.matches() || !m.group(4).isEmpty() || !m.group(2).equals("i")) return 0;
        return m.group(3).equals("4") ? 4 : m.group(3).equals("8") ? 8 : 0;
    }

    /** Whether the file size this shape implies fits a long. */
    static boolean addressable(long[] shape, DType dtype, long dataOffset) {
        try {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            Math.addExact(dataOffset, Math.multiplyExact(n, dtype == DType.FLOAT32 ? 4L : 8L));
            return true;
        } catch (ArithmeticException e) {
            return false;
        }
    }

    private static DType dtypeOf(Object descr, Origin origin) {
        if (descr instanceof List<?>) {
            throw origin.fail("structured dtype " + PythonLiteral.repr(descr) + " is not supported: only float32 ('<f4') and float64 ('<f8')");
        }
        if (!(descr instanceof String d)) throw origin.fail("descr is not a dtype string: " + PythonLiteral.repr(descr));
        Matcher m = DESCR.matcher(d);
        if (!m.matches() || !m.group(4).isEmpty() && !m.group(2).equals("M") && !m.group(2).equals("m")) {
            throw origin.fail("unknown dtype '" + d + "'");
        }
        String kind = m.group(2), size = m.group(3);
        if (kind.equals("O")) throw origin.fail("object (pickled) arrays are not supported: save a float32 or float64 array");
        if (kind.equals("f") && size.equals("4")) return DType.FLOAT32;
        if (kind.equals("f") && size.equals("8")) return DType.FLOAT64;
        throw origin.fail("dtype '" + d + "'" + dtypeName(kind, size) + " is not supported: only float32 ('<f4') and float64 ('<f8');"
                + " convert it with x.astype(np.float32)");
    }

    /** " (int64)" and the like, or "" where the code is too exotic to name. */
    private static String dtypeName(String kind, String size) {
        int bytes = size.isEmpty() ? -1 : Integer.parseInt(size);
        String name = switch (kind) {
            case "i" -> bytes > 0 ? "int" + 8 * bytes : null;
            case "u" -> bytes > 0 ? "uint" + 8 * bytes : null;
            case "f" -> bytes > 0 ? "float" + 8 * bytes : null;
            case "c" -> bytes > 0 ? "complex" + 8 * bytes : null;
            case "b" -> "bool";
            case "U" -> "unicode string";
            case "S", "a" -> "byte string";
            case "V" -> "void";
            case "M" -> "datetime64";
            case "m" -> "timedelta64";
            default -> null;
        };
        return name == null ? "" : " (" + name + ")";
    }

    private static long[] shapeOf(Object shape, Origin origin) {
        if (!(shape instanceof PythonLiteral.Tuple t)) {
            throw origin.fail("shape " + PythonLiteral.repr(shape) + " is not a tuple of integers");
        }
        long[] dims = new long[t.items().size()];
        for (int k = 0; k < dims.length; k++) {
            if (!(t.items().get(k) instanceof Long d) || d < 0) {
                throw origin.fail("shape " + t + " is not a tuple of non-negative integers");
            }
            dims[k] = d;
        }
        return dims;
    }

    private static String decode(byte[] header, int major, Origin origin) {
        if (major < 3) return new String(header, StandardCharsets.ISO_8859_1);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(header)).toString();
        } catch (CharacterCodingException e) {
            throw origin.fail("the version 3.0 header is not valid UTF-8");
        }
    }

    private static int readUpTo(ReadableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) break;
        }
        return buf.position();
    }

    private static String quoted(String header) {
        String t = header.strip();
        return t.length() > 200 ? t.substring(0, 200) + "..." : t;
    }

    private static String hex(byte[] bytes) {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < bytes.length; k++) b.append(k > 0 ? " " : "").append(String.format("%02x", bytes[k] & 0xff));
        return b.toString();
    }

    private static String zipHint(byte[] start) {
        return start.length >= 2 && start[0] == 'P' && start[1] == 'K' ? " (it looks like a zip archive: an .npz?)" : "";
    }
}
