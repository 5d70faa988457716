// The capture's labels (walker.hpp): type names, node labels, and the labels of edges (dict keys, attribute
// names, locals), with str values shown only where the caller opts in.
#include <Python.h>
#include <frameobject.h>

#include <string>

#include "labels.hpp"
#include "walker.hpp"

namespace refgraph::capture::walker {

void Walker::make_info(PyTypeObject* t, TypeInfo* ti) {
  static_cast<TypeFacts&>(*ti) = type_facts(t);
  for (const auto& slot : ti->slots) ti->slot_labels.push_back(label(slot.second));
  ti->name = label(opt_.shortnames ? type_short_name(t) : type_long_name(t));
  if (opt_.shortnames && opt_.distinct_names) {
    auto [owner, first] = name_owner_.try_emplace(ti->name, t);
    if (!first) {
      // The first type's nodes are renamed at the end; a builtin type keeps the plain name (renamed back then).
      if (owner->second != nullptr && !type_is_builtin(owner->second))
        shared_names_.emplace_back(ti->name, label(type_distinct_name(owner->second)));
      owner->second = nullptr;
      const StringId plain = ti->name;
      ti->name = label(type_distinct_name(t));
      if (type_is_builtin(t)) shared_names_.emplace_back(ti->name, plain);
    }
  }
  if (PyType_FastSubclass(t, Py_TPFLAGS_TYPE_SUBCLASS))
    ti->label_kind = LabelKind::Type;
  else if (t == &PyModule_Type || PyType_IsSubtype(t, &PyModule_Type))
    ti->label_kind = LabelKind::Module;
  else if (t == &PyFunction_Type)
    ti->label_kind = LabelKind::Function;
  else if (t == &PyCode_Type)
    ti->label_kind = LabelKind::Code;
  else if (t == &PyFrame_Type)
    ti->label_kind = LabelKind::Frame;
  else if (t == &PyCFunction_Type || t == &PyCMethod_Type)
    ti->label_kind = LabelKind::CFunction;
  else if (opt_.values && PyType_FastSubclass(t, Py_TPFLAGS_UNICODE_SUBCLASS))
    ti->label_kind = LabelKind::Str;
  else if (opt_.values && PyType_FastSubclass(t, Py_TPFLAGS_BYTES_SUBCLASS))
    ti->label_kind = LabelKind::Bytes;
}

std::string Walker::frame_label(PyObject* frame) {
  auto* f = reinterpret_cast<PyFrameObject*>(frame);
  PyCodeObject* code = PyFrame_GetCode(f);
  std::string file = utf8_of(code->co_filename);
  auto slash = file.find_last_of('/');
  if (slash != std::string::npos) file.erase(0, slash + 1);
  std::string out = file + ":" + std::to_string(PyFrame_GetLineNumber(f)) + " in ";
#if PY_VERSION_HEX >= 0x030B0000
  if (!append_utf8(out, code->co_qualname)) append_utf8(out, code->co_name);
#else
  append_utf8(out, code->co_name);
#endif
  Py_DECREF(code);
  return out;
}

StringId Walker::node_label(PyObject* o, const TypeInfo& ti, std::uint8_t* flags) {
  std::string text;
  switch (ti.label_kind) {
    case LabelKind::None: return kNoString;
    case LabelKind::Module: append_utf8(text, dict_find_str(PyModule_GetDict(o), "__name__")); break;
    case LabelKind::Function: append_utf8(text, reinterpret_cast<PyFunctionObject*>(o)->func_qualname); break;
    case LabelKind::Type: {
      auto* t = reinterpret_cast<PyTypeObject*>(o);
      if (t->tp_flags & Py_TPFLAGS_HEAPTYPE)
        append_utf8(text, reinterpret_cast<PyHeapTypeObject*>(t)->ht_qualname);
      else
        text = type_short_name(t);
      break;
    }
    case LabelKind::Code:
#if PY_VERSION_HEX >= 0x030B0000
      append_utf8(text, reinterpret_cast<PyCodeObject*>(o)->co_qualname);
#else
      append_utf8(text, reinterpret_cast<PyCodeObject*>(o)->co_name);
#endif
      break;
    case LabelKind::Frame: text = frame_label(o); break;
    case LabelKind::CFunction: {
      auto* f = reinterpret_cast<PyCFunctionObject*>(o);
      if (f->m_ml != nullptr && f->m_ml->ml_name != nullptr) text = f->m_ml->ml_name;
      break;
    }
    case LabelKind::Str: {
      bool cut = false;
      if (!append_utf8(text, o, opt_.max_value_len, &cut)) return kNoString;
      if (cut) text += "...";
      *flags |= kLabelIsValue;
      break;
    }
    case LabelKind::Bytes: {
      bool cut = false;
      text = bytes_text(o, opt_.max_value_len, &cut);
      if (cut) text += "...";
      *flags |= kLabelIsValue;
      break;
    }
  }
  return text.empty() ? kNoString : label(text);
}

// A str key or attribute name as shown: the name itself if the program's code chose it (is_program_name), its
// value with values=True, else only its length, so that a token used as a key stays out of dumps and reports.
std::string Walker::private_str(PyObject* s, bool quoted) {
  if (is_program_name(s)) return quoted ? "'" + utf8_of(s) + "'" : utf8_of(s);
  if (opt_.values) {
    std::string text;
    bool cut = false;
    append_utf8(text, s, opt_.max_value_len, &cut);
    text = escape_quoted(text);
    if (cut) text += "...";
    return "'" + text + "'";
  }
  return "<str len=" + std::to_string(PyUnicode_GET_LENGTH(s)) + ">";
}

EdgeLabel Walker::key_label(PyObject* k) {
  if (PyLong_CheckExact(k)) {
    if (!opt_.values) return int_key_label_;  // an int key is data (a user id, a card number), never a name
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(k, &overflow);
    if (!overflow && v >= 0 && v < static_cast<long long>(kIndexLabelBit))
      return index_label(static_cast<std::uint32_t>(v));
    if (!overflow) return label("[" + std::to_string(v) + "]");
    return label("[<int>]");
  }
  std::uint32_t cached = key_labels_.find(reinterpret_cast<std::uintptr_t>(k));
  if (cached != PtrIndex::kAbsent) return cached;
  std::string text;
  if (PyUnicode_Check(k)) {
    text = "[" + private_str(k, true) + "]";
  } else if (PyBytes_Check(k)) {
    if (opt_.values) {
      bool cut = false;
      text = "[b'" + escape_quoted(bytes_text(k, opt_.max_value_len, &cut)) + (cut ? "...'" : "'") + "]";
    } else {
      text = "[<bytes len=" + std::to_string(PyBytes_GET_SIZE(k)) + ">]";
    }
  } else {
    text = "[<" + std::string(strings_[info(Py_TYPE(k)).name]) + ">]";
  }
  EdgeLabel l = label(text);
  key_labels_.insert(reinterpret_cast<std::uintptr_t>(k), l);
  return l;
}

EdgeLabel Walker::attr_label(PyObject* name) {
  std::uint32_t cached = attr_labels_.find(reinterpret_cast<std::uintptr_t>(name));
  if (cached != PtrIndex::kAbsent) return cached;
  EdgeLabel l = PyUnicode_Check(name) ? label(private_str(name, false)) : kNoEdgeLabel;
  attr_labels_.insert(reinterpret_cast<std::uintptr_t>(name), l);
  return l;
}

const std::vector<EdgeLabel>& Walker::local_labels(PyCodeObject* code) {
  auto [it, inserted] = code_labels_.try_emplace(reinterpret_cast<PyObject*>(code));
  if (inserted) {
    PyObject* names = code->co_localsplusnames;
    if (names != nullptr && PyTuple_Check(names)) {
      for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(names); ++k) {
        PyObject* n = PyTuple_GET_ITEM(names, k);
        it->second.push_back(label("f_locals[" + private_str(n, true) + "]"));
      }
    }
  }
  return it->second;
}

}  // namespace refgraph::capture::walker
