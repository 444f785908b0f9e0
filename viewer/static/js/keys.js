// The page's keyboard shortcuts ("?" lists them in a dialog): / search, p or space pause,
// ↑ ↓ (or k j) move between rows, Enter opens a row's details, Escape closes them, End
// jumps to the newest, w wraps rows. Keys typed into a field are the field's.

const TYPING = "input, textarea, select, [contenteditable]:not([contenteditable='false'])";

// `actions`: {search, togglePause, move(step), open, close, latest, toggleWrap, help}.
export function installKeys(doc, actions) {
  doc.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target instanceof Element && target.closest(TYPING);
    if (event.key === "Escape") {
      if (actions.close()) event.preventDefault();
      return;
    }
    if (typing || (target instanceof Element && target.closest("dialog"))) return;
    const action = chosen(event, target);
    if (!action) return;
    event.preventDefault();
    action(actions);
  });
}

function chosen(event, target) {
  const onButton = target instanceof Element && target.closest("button, a, summary");
  switch (event.key) {
    case "/": return (a) => a.search();
    case "?": return (a) => a.help();
    case "p": case "P": return (a) => a.togglePause();
    case " ": return onButton ? null : (a) => a.togglePause(); // on a button, space clicks it
    case "ArrowDown": case "j": return (a) => a.move(1);
    case "ArrowUp": case "k": return (a) => a.move(-1);
    case "Enter": return target instanceof Element && target.matches(".entry") ? (a) => a.open() : null;
    case "End": case "G": return (a) => a.latest();
    case "w": case "W": return (a) => a.toggleWrap();
    default: return null;
  }
}

// The shortcuts dialog: opened by "?" or its button, closed by Escape or its Close button.
export function shortcutsDialog(doc) {
  const dialog = doc.getElementById("shortcuts");
  doc.getElementById("shortcuts-close").addEventListener("click", () => dialog.close());
  return {
    open() {
      if (!dialog.open) dialog.showModal();
    },
    close() {
      if (!dialog.open) return false;
      dialog.close();
      return true;
    },
  };
}
