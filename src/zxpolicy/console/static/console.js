// The console's only script: the propose page loads the chosen file's text into the editor.
// Everything works without it (each file is also a plain link).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("file");
  var content = document.getElementById("content");
  if (!select || !content || !select.dataset.source) {
    return;
  }
  select.addEventListener("change", function () {
    var url = select.dataset.source + "?name=" + encodeURIComponent(select.value);
    fetch(url, {credentials: "same-origin"}).then(function (answer) {
      if (!answer.ok) {
        throw new Error(String(answer.status));
      }
      return answer.text();
    }).then(function (text) {
      content.value = text;
    }).catch(function () {
      window.location.href = "/changes/propose?file=" + encodeURIComponent(select.value);
    });
  });
});
