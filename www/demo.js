// Posts the fetch form as JSON and shows the reply inline.  No API key
// is needed here: formrelay holds it on the server.  With a CAPTCHA
// widget in the form (docs/antispam.md), its token is one of the form's
// fields and goes along; each token is good once, so the widget is
// reset after every try.  Without a widget nothing changes.
(function () {
  var form = document.getElementById("fetch-form");
  var out = document.getElementById("fetch-result");
  if (!form) return;
  function resetCaptcha() {
    if (window.turnstile) window.turnstile.reset();
    else if (window.hcaptcha) window.hcaptcha.reset();
    else if (window.grecaptcha && window.grecaptcha.reset) window.grecaptcha.reset();
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var data = {};
    new FormData(form).forEach(function (v, k) { data[k] = v; });
    out.textContent = "Sending…";
    out.className = "";
    fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(data)
    }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.ok) {
        out.textContent = "Thanks! Your submission was received.";
      } else {
        out.className = "error";
        out.textContent = j.message || "Something went wrong.";
      }
      resetCaptcha();
    }).catch(function () {
      out.className = "error";
      out.textContent = "Network error: please try again.";
      resetCaptcha();
    });
  });
})();
