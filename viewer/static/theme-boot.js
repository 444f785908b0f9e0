// Runs before the first paint (a classic script in <head>): the theme and the row mode the
// reader chose last time, so that a dark page never flashes light. js/prefs.js keeps them.
(function () {
  try {
    var root = document.documentElement;
    var theme = window.localStorage.getItem("logsieve.viewer.theme");
    if (theme === "light" || theme === "dark") root.dataset.theme = theme;
    if (window.localStorage.getItem("logsieve.viewer.wrap") === "1") root.dataset.wrap = "1";
  } catch (_) {
    // storage disabled: the system's theme, one-line rows
  }
})();
