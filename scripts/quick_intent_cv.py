#!/usr/bin/env python3
"""A fast proxy for intent cross-validation while writing training data: TF-IDF + logistic regression, 5 folds
over data/nlu (seconds, where `make bench` takes many minutes). `make bench` gives the real figures."""
import yaml, glob, re
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import make_union, make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, StratifiedKFold
from sklearn.metrics import f1_score, accuracy_score
X, y = [], []
for f in glob.glob('data/nlu/*.yml'):
    for e in (yaml.safe_load(open(f)).get('nlu') or []):
        if 'intent' in e:
            for l in e['examples'].splitlines():
                l = l.strip()
                if l.startswith('- '):
                    t = re.sub(r'\[([^\]]+)\]\([^)]+\)', r'\1', l[2:])
                    t = re.sub(r'\[([^\]]+)\]\{[^}]+\}', r'\1', t)
                    X.append(t); y.append(e['intent'])
print(len(X))
for C in (1, 10, 50):
    feats = make_union(TfidfVectorizer(lowercase=True, ngram_range=(1,2), sublinear_tf=True),
                       TfidfVectorizer(analyzer='char_wb', ngram_range=(2,5), sublinear_tf=True))
    clf = make_pipeline(feats, LogisticRegression(C=C, max_iter=3000))
    pred = cross_val_predict(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    print(C, 'acc', round(accuracy_score(y, pred),3), 'macroF1', round(f1_score(y, pred, average='macro'),3))
