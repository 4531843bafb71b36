// Validates every state machine definition (with its ${...} substitution placeholders in
// place) against the ASL schema: unreachable states, missing Next targets, bad paths.
const fs = require("fs");
const path = require("path");
const aslValidator = require("asl-validator");

const dir = process.argv[2] || "statemachines";
let failed = false;
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".asl.json"))) {
  const definition = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  const { isValid, errorsText } = aslValidator(definition, { checkPaths: true, checkArn: true });
  if (isValid) {
    console.log(`ok   ${file}`);
  } else {
    failed = true;
    console.log(`FAIL ${file}: ${errorsText("\n  ")}`);
  }
}
process.exit(failed ? 1 : 0);
