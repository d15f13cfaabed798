package io.tessera.peers;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.app.Initiator;
import ca.uhn.hl7v2.llp.MinLowerLayerProtocol;
import ca.uhn.hl7v2.llp.MllpConstants;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.parser.PipeParser;
import ca.uhn.hl7v2.util.Terser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Sends HL7 v2 messages over MLLP with HAPI HL7v2 (its own parser, MLLP framing and ACK handling)
 * and prints one JSON line per message on stdout:
 *
 *   {"index":0,"controlId":"MSG1","msa1":"AA","msa2":"MSG1","err":"","ack":"MSH|...\rMSA|AA|MSG1\r"}
 *   {"index":1,"controlId":"MSG2","error":"..."}                       (not sent or no ACK)
 *
 * Usage: java -jar hapi-sender.jar <host> <port> [file ...]
 *   Each file (or stdin when none) holds one or more messages in ER7 text, UTF-8; segments separated
 *   by CR, LF or CRLF; a new message starts at every line beginning with "MSH". MSH-18 decides the
 *   bytes on the wire (HAPI respects MSH-18 when asked to: MinLowerLayerProtocol(true)).
 *   Exit code: 0 when every message got an ACK (whatever its code), 1 otherwise, 2 on usage errors.
 */
public final class HapiSender {
  private HapiSender() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: hapi-sender <host> <port> [file ...]   (messages from stdin when no file)");
      System.exit(2);
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    long timeoutMs = Long.parseLong(System.getProperty("hapiSender.timeoutMs", "30000"));

    List<String> messages = new ArrayList<>();
    if (args.length == 2) {
      messages.addAll(splitMessages(new String(readAll(System.in), StandardCharsets.UTF_8)));
    } else {
      for (int i = 2; i < args.length; i++) {
        messages.addAll(splitMessages(Files.readString(Path.of(args[i]), StandardCharsets.UTF_8)));
      }
    }

    // Default charset when MSH-18 is empty; otherwise MSH-18 wins (respectMSH18 = true).
    System.setProperty(MllpConstants.CHARSET_KEY, "UTF-8");
    boolean allAcked = true;
    try (HapiContext context = new DefaultHapiContext()) {
      // A peer that sends what it is given: no HAPI-side validation, so deliberately bad messages
      // (unknown facility, missing PID-3) still reach the receiver.
      context.setValidationContext(ValidationContextFactory.noValidation());
      context.setLowerLayerProtocol(new MinLowerLayerProtocol(true));
      PipeParser parser = context.getPipeParser();
      Connection connection = context.newClient(host, port, false);
      try {
        Initiator initiator = connection.getInitiator();
        initiator.setTimeout(timeoutMs, TimeUnit.MILLISECONDS);
        for (int i = 0; i < messages.size(); i++) {
          String text = messages.get(i);
          String controlId = "";
          try {
            Message message = parser.parse(text);
            controlId = new Terser(message).get("/MSH-10");
            Message response = initiator.sendAndReceive(message);
            Terser ack = new Terser(response);
            String err = firstNonEmpty(ack, "/ERR-8", "/ERR-7", "/ERR-3-2", "/MSA-3");
            System.out.println(
                "{\"index\":" + i
                    + ",\"controlId\":" + json(controlId)
                    + ",\"msa1\":" + json(nullToEmpty(ack.get("/MSA-1")))
                    + ",\"msa2\":" + json(nullToEmpty(ack.get("/MSA-2")))
                    + ",\"err\":" + json(err)
                    + ",\"ack\":" + json(parser.encode(response))
                    + "}");
          } catch (Exception e) {
            allAcked = false;
            System.out.println(
                "{\"index\":" + i + ",\"controlId\":" + json(nullToEmpty(controlId)) + ",\"error\":"
                    + json(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}");
          }
          System.out.flush();
        }
      } finally {
        connection.close();
      }
    }
    System.exit(allAcked ? 0 : 1);
  }

  /** Splits ER7 text into messages: each starts at a line beginning with "MSH"; segments end with CR. */
  static List<String> splitMessages(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = null;
    for (String line : text.replace("\r\n", "\r").replace('\n', '\r').split("\r")) {
      if (line.isBlank()) continue;
      if (line.startsWith("MSH")) {
        if (current != null) out.add(current.toString());
        current = new StringBuilder();
      }
      if (current == null) continue; // text before the first MSH is ignored
      current.append(line).append('\r');
    }
    if (current != null) out.add(current.toString());
    return out;
  }

  private static String firstNonEmpty(Terser terser, String... paths) {
    for (String path : paths) {
      try {
        String value = terser.get(path);
        if (value != null && !value.isEmpty()) return value;
      } catch (Exception ignored) {
        // path not present in this ACK structure
      }
    }
    return "";
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    in.transferTo(out);
    return out.toByteArray();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
