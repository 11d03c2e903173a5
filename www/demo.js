// The demo page: each page load gets fresh entryIds (so every try is a
// new profile in Customer.io, not an update of one shared demo profile),
// and the fetch form is posted as JSON with the reply shown inline.  In
// dry run the reply carries the /v1/batch body that would have been sent
// (the "preview"), shown under the form.  No API key is needed here:
// formrelay holds it on the server.
// With a CAPTCHA widget in the form (docs/antispam.md), its token is one
// of the form's fields and goes along; each token is good once, so the
// widget is reset after every try.  Without a widget nothing changes.
(function () {
  function freshId(prefix) {
    var hex = "";
    if (window.crypto && window.crypto.getRandomValues) {
      var b = new Uint8Array(8);
      window.crypto.getRandomValues(b);
      for (var i = 0; i < b.length; i++) hex += (b[i] + 256).toString(16).slice(1);
    } else {
      hex = Math.random().toString(16).slice(2) + Date.now().toString(16);
    }
    return prefix + hex;
  }
  document.querySelectorAll("input[name=entryId][data-prefix]").forEach(function (el) {
    el.value = freshId(el.getAttribute("data-prefix"));
  });

  var form = document.getElementById("fetch-form");
  var out = document.getElementById("fetch-result");
  var preview = document.getElementById("fetch-preview");
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
    preview.hidden = true;
    fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(data)
    }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.ok) {
        out.textContent = "Thanks! Your submission was received.";
        if (j.dry_run && j.preview) {
          out.textContent += " Dry run: nothing is sent to Customer.io." +
            " It would get this POST /v1/batch:";
          preview.textContent = JSON.stringify(j.preview, null, 2);
          preview.hidden = false;
        }
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
