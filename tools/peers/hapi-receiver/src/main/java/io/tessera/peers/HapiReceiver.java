package io.tessera.peers;

import ca.uhn.hl7v2.AcknowledgmentCode;
import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.ErrorCode;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.Version;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.app.HL7Service;
import ca.uhn.hl7v2.llp.MinLowerLayerProtocol;
import ca.uhn.hl7v2.llp.MllpConstants;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.protocol.MetadataKeys;
import ca.uhn.hl7v2.protocol.ReceivingApplication;
import ca.uhn.hl7v2.protocol.ReceivingApplicationExceptionHandler;
import ca.uhn.hl7v2.util.Terser;
import ca.uhn.hl7v2.util.idgenerator.InMemoryIDGenerator;
import ca.uhn.hl7v2.validation.builder.support.DefaultValidationBuilder;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HL7 v2 receiver built on HAPI HL7v2 (its own MLLP framing, parser, validation and ACKs), used
 * as an independent receiving peer for Tessera's outbound ADT notifications. It shares no code with
 * Tessera.
 *
 * Usage: java -jar hapi-receiver.jar <port> [--ar-first N] [--drop-first N]
 *   --ar-first N    answer AR (ERR-3 207, "retry later") to the first N messages that parse
 *   --drop-first N  close the connection without answering the first N messages that parse
 *                   (counted after the AR ones when both are given)
 *
 * stdout, one JSON object per line (logs go to stderr):
 *   {"event":"listening","port":2575}                                  once, when the port is bound
 *   {"index":0,"controlId":"N1","messageType":"ADT^A01^ADT_A01","pid3":"MRN1","pv12":"I","answer":"AA"}
 *   {"index":1,"controlId":"N2","parseError":"...","answer":"AE"}    HAPI refused the message
 * `answer` is AA, AE, AR or "none" (connection dropped). Messages on one connection are handled on
 * HAPI's worker threads, so a sender should keep one message in flight per connection.
 *
 * Strictness: HAPI's default validation (primitive formats: DTM, DT, TM, NM, SI, ID/IS length;
 * choice elements; only allowable segments) plus the fields a receiver of ADT needs to file the
 * event at all: MSH-10, PID-3.1 and PV1-2 valued (checked for v2.5.1 messages). A message that
 * breaks any of these gets HAPI's own AE, its exception text in ERR-3.9.
 */
public final class HapiReceiver {
  private HapiReceiver() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: hapi-receiver <port> [--ar-first N] [--drop-first N]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    int arFirst = 0;
    int dropFirst = 0;
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--ar-first" -> arFirst = Integer.parseInt(args[++i]);
        case "--drop-first" -> dropFirst = Integer.parseInt(args[++i]);
        default -> {
          System.err.println("hapi-receiver: unknown option " + args[i]);
          System.exit(2);
        }
      }
    }

    // Default charset when MSH-18 is empty; otherwise MSH-18 wins (respectMSH18 = true).
    System.setProperty(MllpConstants.CHARSET_KEY, "UTF-8");
    HapiContext context = new DefaultHapiContext();
    context.setValidationRuleBuilder(new AdtValidationBuilder());
    context.setLowerLayerProtocol(new MinLowerLayerProtocol(true));
    // ACK control ids from memory: HAPI's default generator writes an id_file into the working directory.
    context.getParserConfiguration().setIdGenerator(new InMemoryIDGenerator());
    HL7Service server = context.newServer(port, false);

    AtomicInteger received = new AtomicInteger();
    AtomicInteger parsed = new AtomicInteger();
    int ar = arFirst;
    int drop = dropFirst;

    ReceivingApplication<Message> app =
        new ReceivingApplication<>() {
          @Override
          public Message processMessage(Message message, Map<String, Object> metadata)
              throws HL7Exception {
            int index = received.getAndIncrement();
            int nth = parsed.getAndIncrement();
            Terser t = new Terser(message);
            String line =
                "{\"index\":" + index
                    + ",\"controlId\":" + json(get(t, "/.MSH-10"))
                    + ",\"messageType\":" + json(messageType(t))
                    + ",\"pid3\":" + json(get(t, "/.PID-3(0)-1"))
                    + ",\"pv12\":" + json(get(t, "/.PV1-2"));
            try {
              if (nth < ar) {
                emit(line + ",\"answer\":\"AR\"}");
                return message.generateACK(
                    AcknowledgmentCode.AR,
                    new HL7Exception(
                        "Receiver busy: send again later (forced by --ar-first)",
                        ErrorCode.APPLICATION_INTERNAL_ERROR));
              }
              if (nth < ar + drop) {
                emit(line + ",\"answer\":\"none\"}");
                dropConnection(server, metadata);
                // Nothing can be written on the closed socket; HAPI logs the failed write.
                return message.generateACK();
              }
              emit(line + ",\"answer\":\"AA\"}");
              return message.generateACK();
            } catch (IOException e) {
              throw new HL7Exception(e);
            }
          }

          @Override
          public boolean canProcess(Message message) {
            return true;
          }
        };
    server.registerApplication(app);
    server.setExceptionHandler(
        new ReceivingApplicationExceptionHandler() {
          @Override
          public String processException(
              String incoming, Map<String, Object> metadata, String outgoing, Exception e) {
            int index = received.getAndIncrement();
            emit(
                "{\"index\":" + index
                    + ",\"controlId\":" + json(rawControlId(incoming))
                    + ",\"parseError\":" + json(e.getClass().getSimpleName() + ": " + e.getMessage())
                    + ",\"answer\":\"AE\"}");
            // HAPI returns null when it cannot even build its error ACK (e.g. MSH unreadable); the
            // sender must still get an answer.
            return outgoing != null ? outgoing : fallbackAe(rawControlId(incoming), e.getMessage());
          }
        });

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.stop();
      stopped.countDown();
    }));
    server.startAndWait();
    emit("{\"event\":\"listening\",\"port\":" + port + "}");
    stopped.await();
  }

  /** HAPI's default rules plus what an ADT receiver needs to file the event at all. */
  @SuppressWarnings("serial")
  private static final class AdtValidationBuilder extends DefaultValidationBuilder {
    @Override
    protected void configure() {
      super.configure();
      forVersion(Version.V251)
          .message("ADT", "*")
          .terser("MSH-10", not(empty()))
          .message("ADT", "*")
          .terser("PID-3-1", not(empty()))
          .message("ADT", "*")
          .terser("PV1-2", not(empty()));
    }
  }

  private static void dropConnection(HL7Service server, Map<String, Object> metadata) {
    Object ip = metadata.get(MetadataKeys.IN_SENDING_IP);
    Object port = metadata.get(MetadataKeys.IN_SENDING_PORT);
    for (Connection c : server.getRemoteConnections()) {
      if (c.getRemoteAddress().getHostAddress().equals(ip) && c.getRemotePort().equals(port)) {
        try {
          c.close();
        } catch (IOException e) {
          System.err.println("hapi-receiver: closing the connection failed: " + e.getMessage());
        }
      }
    }
  }

  private static String messageType(Terser t) {
    String code = get(t, "/.MSH-9-1");
    String trigger = get(t, "/.MSH-9-2");
    String structure = get(t, "/.MSH-9-3");
    return code + "^" + trigger + (structure.isEmpty() ? "" : "^" + structure);
  }

  private static String get(Terser t, String path) {
    try {
      String value = t.get(path);
      return value == null ? "" : value;
    } catch (Exception e) {
      return "";
    }
  }

  /** MSH-10 read from the raw text (HAPI could not parse the message). */
  private static String rawControlId(String text) {
    if (text == null || !text.startsWith("MSH") || text.length() < 4) return "";
    String separator = String.valueOf(text.charAt(3));
    String[] fields = text.split("[\r\n]", 2)[0].split(java.util.regex.Pattern.quote(separator), -1);
    return fields.length > 9 ? fields[9] : "";
  }

  /** A minimal v2.5.1 AE written by hand, for when HAPI could not build one. */
  private static String fallbackAe(String controlId, String error) {
    String text = escape(error == null ? "Unreadable message" : error);
    return "MSH|^~\\&|HAPI_RECEIVER||||||ACK|AE" + System.nanoTime() + "|P|2.5.1\r"
        + "MSA|AE|" + escape(controlId) + "\r"
        + "ERR|||207^Application internal error^HL70357|E||||" + text + "\r";
  }

  /** HL7 escaping (Chapter 2 §2.7) with the default encoding characters. */
  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      switch (c) {
        case '\\' -> b.append("\\E\\");
        case '|' -> b.append("\\F\\");
        case '^' -> b.append("\\S\\");
        case '&' -> b.append("\\T\\");
        case '~' -> b.append("\\R\\");
        case '\r', '\n' -> b.append(' ');
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  private static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
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
