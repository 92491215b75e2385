// The WhatsApp Flow preview (ui/src/waform/Preview.tsx) inside the WhatsApp
// Flows page: it draws the form from the JSON editor's text, is filled in
// like the WhatsApp client, follows navigate actions and shows the complete
// payload.
import assert from 'node:assert/strict';
import { apiCall, skip } from '../lib.mjs';

export const tests = [
  {
    name: 'preview a WhatsApp Flow: fill the appointment form, step through its screens, see the answers',
    fn: async (env) => {
      const { page } = env;
      await env.login();
      const created = await apiCall(page, 'POST', '/whatsapp-flows/', { template: 'appointment_booking', name: 'Preview test' });
      if (created.status === 404) throw skip('this build has no /whatsapp-flows/ API');
      assert.equal(created.status, 201, created.text);
      const id = created.json.id;
      await page.goto(`${env.base}/app/whatsapp-flows/${id}`);
      const preview = page.getByTestId('waform-preview');
      await preview.waitFor();
      const phone = preview.locator('.waf-phone');
      await phone.getByText('Book an appointment').waitFor();

      // The Footer stays disabled until the required fields are filled.
      const cta = phone.locator('button.waf-cta');
      assert.equal(await cta.isDisabled(), true);
      await preview.getByTestId('waform-missing').getByText('Service, Date, Time').waitFor();
      await phone.getByLabel('Service').selectOption('check_up');
      await phone.getByLabel('Date').fill('2026-03-02');
      await phone.getByRole('radio', { name: '11:00' }).check();
      await env.shot('waform-01-preview-first-screen');
      await cta.click();

      await phone.getByText('Your details').waitFor();
      await phone.getByLabel('Name').fill('Ana Silva');
      await phone.getByLabel('Email').fill('ana@example.com');
      await cta.click();

      await phone.getByText('When: 2026-03-02 at 11:00').waitFor();
      await phone.getByText('Name: Ana Silva (ana@example.com)').waitFor();
      assert.equal(await preview.getByTestId('waform-screen').textContent(), 'SUMMARY');
      // Back keeps what was typed.
      await phone.getByRole('button', { name: 'Back' }).click();
      assert.equal(await phone.getByLabel('Name').inputValue(), 'Ana Silva');
      await cta.click();
      await phone.getByRole('checkbox', { name: 'Send me a reminder the day before' }).check();
      await env.shot('waform-02-preview-summary');
      await phone.getByRole('button', { name: 'Book' }).click();

      const done = preview.getByTestId('waform-complete');
      await done.waitFor();
      const payload = JSON.parse(await done.locator('pre').textContent());
      assert.deepEqual(
        { service: payload.service, date: payload.date, time: payload.time, name: payload.name, email: payload.email, reminders: payload.reminders },
        { service: 'check_up', date: '2026-03-02', time: '11:00', name: 'Ana Silva', email: 'ana@example.com', reminders: true },
      );
      await phone.getByText('Response sent').waitFor();
      await env.shot('waform-03-preview-complete');

      // The preview follows the JSON editor as the author types.
      const editor = page.getByLabel('Flow JSON editor');
      const text = await editor.inputValue();
      await editor.fill(text.replace('"title": "Book an appointment"', '"title": "Book a visit"'));
      await phone.getByText('Book a visit').waitFor();
      await editor.fill('{"version": "7.3", "screens": [');
      await preview.getByRole('alert').getByText(/Not valid JSON/).waitFor();
    },
  },
];
