/** The provider conformance suite (test/conformance/suite.ts) for the memory provider. */
import { defineConformanceSuite } from './suite.js';
import { memoryHarness } from './memory-harness.js';

defineConformanceSuite(memoryHarness);
