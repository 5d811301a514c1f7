// The CodeMirror 6 editor (loaded lazily: this module pulls in CodeMirror and lang-sql). Styles go into
// <style> elements carrying this response's CSP nonce; colours come from the app's CSS variables, so one
// theme serves light and dark.
import { autocompletion, closeBrackets, closeBracketsKeymap, closeCompletion, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { PostgreSQL, sql } from '@codemirror/lang-sql';
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { setDiagnostics } from '@codemirror/lint';
import { highlightSelectionMatches, searchKeymap } from '@codemirror/search';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  placeholder,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { errorRange, runTarget, type RunTarget } from './run-target';
import { completionNamespace, type SourceSchema } from './schema';

export interface EditorOptions {
  doc: string;
  schema?: SourceSchema;
  onrun: (target: RunTarget) => void;
  onformat: () => void;
  onchange: (doc: string) => void;
  /** Viewers read the SQL of a saved query; they cannot send their own. */
  readonly?: boolean;
}

export interface SqlEditorHandle {
  setDoc(doc: string): void;
  setSchema(schema: SourceSchema | undefined): void;
  insert(text: string): void;
  /** Closes an open completion list (a run started: the list would float over the results). */
  closeCompletion(): void;
  showError(offset: number, message: string): void;
  clearError(): void;
  focus(): void;
  destroy(): void;
}

/** The nonce the server put in index.html for this response (empty in the Vite dev server). */
export function styleNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csp-style-nonce"]')?.content ?? '';
}

const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--cm-keyword)', fontWeight: '600' },
  { tag: [tags.string, tags.special(tags.string)], color: 'var(--cm-string)' },
  { tag: [tags.number, tags.bool, tags.null], color: 'var(--cm-number)' },
  { tag: tags.comment, color: 'var(--muted)', fontStyle: 'italic' },
  { tag: [tags.typeName, tags.standard(tags.name)], color: 'var(--cm-type)' },
  { tag: [tags.operator, tags.punctuation, tags.bracket], color: 'var(--muted)' },
  { tag: [tags.special(tags.name), tags.quote], color: 'var(--cm-identifier)' },
]);

const appearance = EditorView.theme({
  '&': { color: 'var(--text)', backgroundColor: 'var(--surface)', fontSize: '14px', height: '100%' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55' },
  '.cm-content': { caretColor: 'var(--text)', padding: '8px 0' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused': { outline: 'none' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': {
    backgroundColor: 'var(--selection) !important',
  },
  '.cm-gutters': {
    backgroundColor: 'var(--surface)',
    color: 'var(--muted)',
    border: 'none',
    borderRight: '1px solid var(--border)',
  },
  '.cm-activeLine': { backgroundColor: 'var(--cm-active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--cm-active-line)' },
  '.cm-tooltip': {
    backgroundColor: 'var(--surface)',
    color: 'var(--text)',
    border: '1px solid var(--border)',
    borderRadius: '6px',
  },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': { backgroundColor: 'var(--accent)', color: 'var(--accent-text)' },
  '.cm-completionDetail': { color: 'var(--muted)', fontStyle: 'normal', marginLeft: '1em' },
  '.cm-lintRange-error': {
    backgroundImage: 'none',
    textDecoration: 'underline wavy var(--bad)',
    backgroundColor: 'var(--cm-error-bg)',
  },
  '.cm-diagnostic-error': { borderLeftColor: 'var(--bad)' },
  '.cm-placeholder': { color: 'var(--muted)' },
  '.cm-restricted-option': { color: 'var(--muted)', opacity: '0.75' },
});

function language(schema: SourceSchema | undefined) {
  return sql({
    dialect: PostgreSQL,
    upperCaseKeywords: true,
    ...(schema ? { schema: completionNamespace(schema), defaultSchema: 'public' } : {}),
  });
}

export function createSqlEditor(parent: HTMLElement, options: EditorOptions): SqlEditorHandle {
  const languageSlot = new Compartment();
  const run = (view: EditorView) => {
    // Ctrl+Enter outranks the completion keymap, so the list would stay open over the running query.
    closeCompletion(view);
    const { from, to } = view.state.selection.main;
    options.onrun(runTarget(view.state.doc.toString(), { from, to }));
    return true;
  };
  let hasError = false;
  let currentSchema = options.schema;

  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc,
      extensions: [
        EditorView.cspNonce.of(styleNonce()),
        EditorState.readOnly.of(options.readonly ?? false),
        lineNumbers(),
        highlightActiveLineGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        autocompletion({
          activateOnTyping: true,
          icons: false,
          optionClass: (completion) => (completion.type?.split(' ').includes('restricted') ? 'cm-restricted-option' : ''),
        }),
        highlightActiveLine(),
        highlightSelectionMatches(),
        syntaxHighlighting(highlight),
        appearance,
        placeholder('SELECT … (Ctrl+Enter runs, Ctrl+Space completes)'),
        languageSlot.of(language(options.schema)),
        EditorView.contentAttributes.of({ 'aria-label': 'SQL', 'data-testid': 'sql-input' }),
        Prec.highest(
          keymap.of([
            { key: 'Mod-Enter', run, preventDefault: true },
            { key: 'Shift-Enter', run, preventDefault: true },
            { key: 'Mod-Shift-f', run: () => (options.onformat(), true), preventDefault: true },
          ]),
        ),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...completionKeymap]),
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return;
          options.onchange(update.state.doc.toString());
          if (hasError) {
            hasError = false;
            queueMicrotask(() => view.dispatch(setDiagnostics(view.state, [])));
          }
        }),
      ],
    }),
  });

  return {
    setDoc(doc) {
      if (doc !== view.state.doc.toString()) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: doc } });
    },
    setSchema(schema) {
      // Reconfiguring closes an open completion list: only do it when the schema really changed.
      if (schema === currentSchema) return;
      currentSchema = schema;
      view.dispatch({ effects: languageSlot.reconfigure(language(schema)) });
    },
    insert(text) {
      view.dispatch(view.state.replaceSelection(text), { scrollIntoView: true });
      view.focus();
    },
    closeCompletion() {
      closeCompletion(view);
    },
    showError(offset, message) {
      const range = errorRange(view.state.doc.toString(), offset);
      view.dispatch(setDiagnostics(view.state, [{ ...range, severity: 'error', message }]), {
        selection: { anchor: range.from },
        scrollIntoView: true,
      });
      hasError = true;
    },
    clearError() {
      if (!hasError) return;
      hasError = false;
      view.dispatch(setDiagnostics(view.state, []));
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
