// ESLint: type-aware rules for the TypeScript sources and tests, the plain recommended rules for
// the JavaScript benches and examples. Promise rules come first: in an engine this Promise-heavy
// a floating promise is an unhandled rejection or a lost error waiting to happen.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "dist-check/**", "api-docs/**", "coverage/**", "**/node_modules/**", "test/fixtures/**", "test/golden/**", "test/package/**"] },
  js.configs.recommended,
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      // `typeof import("node:fs")` is how vi.mock's importOriginal is typed.
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      // Ops answer synchronously or with a Promise (the engine's "sync-or-Promise pull"): an
      // async method without await is often the point, not a slip.
      "@typescript-eslint/require-await": "off",
      // Restored states and parsed files are `unknown` and narrowed by the schemas; the checks
      // below would flag every step of that narrowing.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      // Error messages render numbers and values on purpose (describeValue for the rest).
      "@typescript-eslint/restrict-template-expressions": "off",
      // A failure kept from an earlier call (of a user's function, a thread, the disk) is thrown
      // again as it was, whatever its type.
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      // Messages render values of any type on purpose (`String(error)` of a non-Error).
      "@typescript-eslint/no-base-to-string": "off",
      // Tests pass methods of fakes around unbound.
      "@typescript-eslint/unbound-method": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
    },
  },
);
