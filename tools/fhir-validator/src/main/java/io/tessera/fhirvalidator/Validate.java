package io.tessera.fhirvalidator;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

/**
 * Offline FHIR R4 validator: validates every *.json resource (or Bundle) named on the command line
 * (files, or directories searched recursively) against the FHIR R4 core specification, and prints
 * one JSON report on stdout. Exit code 0 when no file has an error, 1 when any has, 2 on bad usage.
 *
 * <p>Validation support chain (no terminology server, nothing fetched from the network):
 *
 * <ul>
 *   <li>DefaultProfileValidationSupport: core R4 StructureDefinitions, ValueSets, CodeSystems
 *       (including the HL7 v2 tables and v3 code systems shipped in
 *       hapi-fhir-validation-resources-r4).
 *   <li>CommonCodeSystemsTerminologyService: built-in knowledge of UCUM, ISO 3166, BCP-47,
 *       MIME types and similar systems that are not shipped as CodeSystem resources.
 *   <li>InMemoryTerminologyServerValidationSupport: validates codes against the ValueSets and
 *       CodeSystems above (expansion in memory).
 *   <li>SnapshotGeneratingValidationSupport: generates snapshots for differential-only profiles.
 *   <li>UnknownCodeSystemWarningValidationSupport (last): answers for code systems that nothing
 *       above knows (LOINC, SNOMED CT, ICD-10 and local urn:tessera:cs:* systems). Without a
 *       terminology server such codes cannot be checked at all, so they are reported as a
 *       WARNING ("code system unknown, cannot validate"), not an ERROR: a LOINC code is not wrong
 *       merely because this offline validator has no copy of LOINC. Codes from systems that ARE
 *       known (administrative-gender, v3-ActCode, v2-0203, observation-status, ...) are still
 *       checked strictly, and a wrong one is an error.
 * </ul>
 */
public final class Validate {

  private Validate() {}

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      System.err.println("usage: java -jar fhir-validator.jar <file.json|directory> ...");
      System.exit(2);
    }
    List<Path> files = new ArrayList<>();
    for (String arg : args) {
      Path p = Paths.get(arg);
      if (Files.isDirectory(p)) {
        try (Stream<Path> walk = Files.walk(p)) {
          walk.filter(f -> Files.isRegularFile(f) && f.toString().endsWith(".json"))
              .sorted()
              .forEach(files::add);
        }
      } else if (Files.isRegularFile(p)) {
        files.add(p);
      } else {
        System.err.println("not found: " + arg);
        System.exit(2);
      }
    }

    FhirContext ctx = FhirContext.forR4();
    UnknownCodeSystemWarningValidationSupport unknownCodeSystems =
        new UnknownCodeSystemWarningValidationSupport(ctx);
    unknownCodeSystems.setNonExistentCodeSystemSeverity(IValidationSupport.IssueSeverity.WARNING);
    ValidationSupportChain chain =
        new ValidationSupportChain(
            new DefaultProfileValidationSupport(ctx),
            new CommonCodeSystemsTerminologyService(ctx),
            new InMemoryTerminologyServerValidationSupport(ctx),
            new SnapshotGeneratingValidationSupport(ctx),
            unknownCodeSystems);
    FhirInstanceValidator instanceValidator = new FhirInstanceValidator(chain);
    FhirValidator validator = ctx.newValidator();
    validator.registerValidatorModule(instanceValidator);

    StringBuilder out = new StringBuilder();
    out.append("{\"files\":[");
    int totalErrors = 0;
    int totalWarnings = 0;
    for (int i = 0; i < files.size(); i++) {
      Path file = files.get(i);
      String json = Files.readString(file, StandardCharsets.UTF_8);
      List<SingleValidationMessage> errors = new ArrayList<>();
      List<SingleValidationMessage> warnings = new ArrayList<>();
      ValidationResult result = validator.validateWithResult(json);
      for (SingleValidationMessage m : result.getMessages()) {
        ResultSeverityEnum sev = m.getSeverity();
        if (sev == ResultSeverityEnum.ERROR || sev == ResultSeverityEnum.FATAL) {
          errors.add(m);
        } else if (sev == ResultSeverityEnum.WARNING) {
          warnings.add(m);
        }
      }
      totalErrors += errors.size();
      totalWarnings += warnings.size();
      if (i > 0) out.append(',');
      out.append("{\"file\":").append(str(file.toString()));
      out.append(",\"errors\":").append(messages(errors));
      out.append(",\"warnings\":").append(warnings.size());
      out.append(",\"warningMessages\":").append(messages(warnings));
      out.append('}');
    }
    out.append("],\"fileCount\":").append(files.size());
    out.append(",\"errorCount\":").append(totalErrors);
    out.append(",\"warningCount\":").append(totalWarnings).append('}');
    PrintStream stdout = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    stdout.println(out);
    System.exit(totalErrors > 0 ? 1 : 0);
  }

  private static String messages(List<SingleValidationMessage> list) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < list.size(); i++) {
      SingleValidationMessage m = list.get(i);
      if (i > 0) sb.append(',');
      sb.append("{\"location\":").append(str(m.getLocationString()));
      sb.append(",\"message\":").append(str(m.getMessage()));
      sb.append(",\"messageId\":").append(str(m.getMessageId())).append('}');
    }
    return sb.append(']').toString();
  }

  /** Minimal JSON string encoder (RFC 8259 section 7). */
  private static String str(String s) {
    if (s == null) return "null";
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    return sb.append('"').toString();
  }
}
