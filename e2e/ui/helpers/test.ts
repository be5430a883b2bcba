// The specs' `test`: baseURL comes from the environment at run time (global-setup may
// have started the server and set it after the config was read).
import { test as base, expect } from '@playwright/test';
import { baseURL } from './env';

export const test = base.extend({
  baseURL: async ({}, use) => {
    await use(baseURL());
  },
});

export { expect };
